"""Making the cluster and keeping it fit to start: ``initdb``, the version check, securing it with
password authentication, and the ``nyx`` database.

A cluster made by an older nyx with trust authentication is secured on the next ``ensure_running``:
a running one is stopped, the password set in single-user mode (no server listens meanwhile),
``pg_hba.conf`` rewritten, then it starts again. Removing ``pgpass`` resets the password the same way.
"""

from __future__ import annotations

import secrets
import shutil

import psycopg

from collector.db.embedded.accounts import Account
from collector.db.embedded.auth import hba_is_ours, read_secret, set_password, write_hba, write_passfile
from collector.db.embedded.binaries import binary_major
from collector.db.embedded.cluster import CONF_NAME, DATABASE, SUPERUSER, Cluster
from collector.db.embedded.process import connect, pg_ctl_stop, postmaster, remove_stale_pidfile
from collector.core.errors import EmbeddedServerError


def initdb(cluster: Cluster, account: Account) -> None:
    """A new cluster in the empty ``pgdata`` that rejects every connection until ``secure`` runs."""
    pgdata = cluster.pgdata
    if any(pgdata.iterdir()):
        raise EmbeddedServerError(
            f"{pgdata} is not empty but holds no PostgreSQL cluster; move it away and try again"
        )
    # reject until secure sets the password and writes pg_hba.conf (no server runs before that)
    argv = [cluster.bin("initdb"), "-D", str(pgdata), "--auth=reject", "--encoding=UTF8", "--locale=C", "-U", SUPERUSER]
    try:
        cluster.run(account, argv, what="initdb")
    except EmbeddedServerError:
        # a half-made cluster would block every later attempt
        for child in list(pgdata.iterdir()) if pgdata.exists() else []:
            shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)
        raise
    conf = pgdata / "postgresql.conf"
    with open(conf, "a", encoding="utf-8") as fh:
        fh.write(f"\n# Added by nyx: listen address, port and socket are set in {CONF_NAME}.\n")
        fh.write(f"include_if_exists = '{CONF_NAME}'\n")


def check_version(cluster: Cluster) -> None:
    """The cluster must have been made by the installed binaries' major version."""
    version, binaries = cluster.cluster_version(), binary_major(cluster.bin_dir)
    if version and binaries and version != binaries:
        raise EmbeddedServerError(
            f"the embedded cluster in {cluster.pgdata} was made by PostgreSQL {version} but the installed "
            f"binaries are PostgreSQL {binaries}; dump it with that version's pg_dump, or move it away"
        )


def secure(cluster: Cluster, account: Account) -> None:
    """Make sure the cluster asks every connection for the secret in the passfile.

    A cluster without a secret (new, made by an older nyx with trust authentication, or whose
    passfile was removed) or with another ``pg_hba.conf`` gets a new secret or keeps its own, has
    the password set in single-user mode and our ``pg_hba.conf``; a server running meanwhile is
    stopped first, so no connection is ever accepted on the old terms after this returns.
    """
    secret = read_secret(cluster.passfile)
    if secret is not None and hba_is_ours(cluster.pgdata):
        return
    if postmaster(cluster) is not None:
        cluster.append_log("securing the cluster (password authentication): stopping the running server\n")
        pg_ctl_stop(cluster, account)
    if secret is None:
        secret = secrets.token_urlsafe(32)
        write_passfile(cluster, secret, cluster.read_state().get("port"))
    remove_stale_pidfile(cluster)
    set_password(cluster, account, secret)
    write_hba(cluster.pgdata, account)


def ensure_database(cluster: Cluster, port: int) -> None:
    """Create the database ``nyx`` on the running server when it is missing."""
    try:
        with connect(cluster, port, timeout=5, autocommit=True) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", [DATABASE]).fetchone()
            if not exists:
                try:
                    conn.execute(f'create database "{DATABASE}"')
                except psycopg.errors.DuplicateDatabase:
                    pass
    except psycopg.Error as exc:
        reason = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        raise cluster.fail(f"cannot create the database {DATABASE} in the embedded server: {reason}") from exc
