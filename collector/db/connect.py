"""Which PostgreSQL server to use: the configured one (``--dsn``, ``PHOEBE_DSN``, the PG* variables),
else the embedded server in the data directory, started on first use.

The one place that knows this fallback; the CLI, ``collector.api`` and the benchmarks all call it.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from collector.db.dsn import describe_target, libpq_env, pgpass_lines, resolve_dsn
from collector.db.embedded import EmbeddedPostgres
from collector.db.store import Store
from collector.core.errors import DatabaseError
from collector.core.paths import data_dir, make_data_dir

#: Where ``nyx-collect db env`` keeps the password of a configured DSN (never printed), owner-only.
DSN_PASSFILE = "dsn.pgpass"


def embedded() -> EmbeddedPostgres:
    """The embedded server of this user's data directory (not started)."""
    return EmbeddedPostgres(data_dir())


def resolve(dsn_option: str | None = None) -> tuple[str, str]:
    """(DSN, a line saying which database that is), starting the embedded server when none is configured.

    The line names the embedded server's data directory, or the configured server's user, host,
    port and database (never a password) and where that came from.
    """
    dsn, source = resolve_dsn(dsn_option)
    if dsn is None:
        server = embedded()
        dsn = server.ensure_running()
        port = server.status()["port"]
        return dsn, (f"Using the embedded PostgreSQL server in {server.data_dir} (127.0.0.1:{port}, database nyx): "
                     "no --dsn, PHOEBE_DSN or PG* variable is set")
    return dsn, f"Using PostgreSQL {describe_target(dsn)} (from {source})"


def connect(dsn_option: str | None = None, *, on_note: Callable[[str], None] | None = None) -> Store:
    """A Store on the configured or embedded server; ``on_note`` hears which one once connected."""
    dsn, note = resolve(dsn_option)
    store = Store.connect(dsn)
    if on_note is not None:
        on_note(note)
    return store


def connection_env(dsn_option: str | None = None) -> dict[str, str]:
    """PG* variables for the configured server, or the embedded one (started if need be)."""
    return libpq_env(resolve(dsn_option)[0])


def shell_env(dsn_option: str | None = None) -> dict[str, str]:
    """``connection_env`` for printing (``nyx-collect db env``): never with a password in it.

    The embedded server's password stays in its passfile (PGPASSFILE). A password in a configured
    DSN is written to ``<data_dir>/dsn.pgpass`` (mode 0600) and PGPASSFILE names that file; a
    PGPASSWORD already in the environment is left there and not repeated.
    """
    dsn, _ = resolve(dsn_option)
    env = libpq_env(dsn)
    password = env.pop("PGPASSWORD", None)
    if password and dsn:
        env["PGPASSFILE"] = str(_write_dsn_passfile(dsn))
    if password is not None and dsn:
        env["PGPASSWORD"] = ""  # a PGPASSWORD the shell has for another server would win over the passfile
    return env


def _write_dsn_passfile(dsn: str):
    path = data_dir() / DSN_PASSFILE
    tmp = path.with_name(f".{DSN_PASSFILE}.tmp")
    try:
        make_data_dir(path.parent)
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write("# Written by nyx-collect db env: the password of the configured DSN. Keep it private.\n")
            fh.write(pgpass_lines(dsn))
        tmp.replace(path)
    except OSError as exc:
        raise DatabaseError(f"cannot write {path}: {exc.strerror}; set NYX_HOME to a directory you can write") from exc
    return path
