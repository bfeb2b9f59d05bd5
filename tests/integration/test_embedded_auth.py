"""The embedded server lets no other local user in: every connection needs the generated secret,
which only the data directory's owner can read; the socket is the owner's alone. Clusters made
with trust authentication by an older nyx are secured on their next start.

The "other OS user" is ``nobody`` (tests run as root here; as another user the tests that need
to switch users are skipped)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from collector.db.embedded import HBA_CONF, EmbeddedPostgres, embedded_bin_dir, scram_verifier
from collector.core.errors import EmbeddedServerError
from tests.cli_helpers import run_cli

IS_ROOT = os.geteuid() == 0
OTHER_USER = "nobody"
# what initdb --auth=trust wrote, and so what a cluster of an older nyx has
TRUST_HBA = ("local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n"
             "local replication all trust\nhost replication all 127.0.0.1/32 trust\n")


@pytest.fixture
def server() -> Iterator[EmbeddedPostgres]:
    """A started embedded server in a fresh directory the service user can enter; stopped afterwards."""
    base = Path(tempfile.mkdtemp(prefix="nyx-test-auth-", dir="/tmp"))
    os.chmod(base, 0o755)
    srv = EmbeddedPostgres(base / "data")
    srv.ensure_running()
    try:
        yield srv
    finally:
        try:
            srv.stop()
        except EmbeddedServerError:
            pass
        shutil.rmtree(base, ignore_errors=True)


def port_of(srv: EmbeddedPostgres) -> int:
    return srv.status()["port"]


def psql(conninfo: str, *, as_user: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The embedded build's psql running ``select current_user``, as ``as_user`` if given."""
    argv = [str(embedded_bin_dir() / "psql"), conninfo, "-Atc", "select current_user"]
    if as_user:
        argv = ["runuser", "-u", as_user, "--", *argv]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return subprocess.run(argv, env={**clean, **(env or {})}, capture_output=True, text=True, timeout=60, cwd="/")


def attempts(srv: EmbeddedPostgres) -> dict[str, tuple[str, dict[str, str]]]:
    """Every way in: TCP and the socket, without a password and with the passfile, as nyx or postgres."""
    port, run, passfile = port_of(srv), srv.socket_dir, str(srv.passfile)
    return {
        "tcp, no password": (f"host=127.0.0.1 port={port} user=nyx dbname=nyx", {}),
        "tcp, the DSN (passfile=)": (srv.dsn(), {}),
        "tcp, PGPASSFILE": (f"host=127.0.0.1 port={port} user=nyx dbname=nyx", {"PGPASSFILE": passfile}),
        "tcp, as postgres": (f"host=127.0.0.1 port={port} user=postgres dbname=postgres", {}),
        "socket, no password": (f"host={run} port={port} user=nyx dbname=nyx", {}),
        "socket, passfile": (f"host={run} port={port} user=nyx dbname=nyx passfile={passfile}", {}),
    }


def test_the_secret_is_the_owners_alone_and_in_no_url(server):
    info = server.passfile.stat()
    assert info.st_uid == os.geteuid() and (info.st_mode & 0o777) == 0o600
    secret = server._secret()
    assert secret and len(secret) >= 40
    assert secret not in server.dsn() and secret not in (server.data_dir / "server.json").read_text()
    assert secret not in server.log_file.read_text()
    assert (server.pgdata / "pg_hba.conf").read_text() == HBA_CONF and "trust" not in HBA_CONF.split("#")[-1]
    assert (server.socket_dir.stat().st_mode & 0o777) == 0o700
    with psycopg.connect(server.dsn()) as conn:
        row = conn.execute("select current_setting('unix_socket_permissions'), current_setting('password_encryption'),"
                           " (select rolpassword like 'SCRAM-SHA-256$%' from pg_authid where rolname = 'nyx')").fetchone()
    assert row == ("0700", "scram-sha-256", True)


def test_a_connection_without_the_secret_is_refused(server):
    ways = attempts(server)
    for name in ("tcp, no password", "socket, no password", "tcp, as postgres"):
        conninfo, env = ways[name]
        result = psql(conninfo, env=env)
        assert result.returncode != 0, name
        assert "no password supplied" in result.stderr or "authentication failed" in result.stderr, (name, result.stderr)
    wrong = f"host=127.0.0.1 port={port_of(server)} user=nyx dbname=nyx password=guess"
    assert "password authentication failed" in psql(wrong).stderr
    for name in ("tcp, the DSN (passfile=)", "tcp, PGPASSFILE", "socket, passfile"):  # the owner gets in
        conninfo, env = ways[name]
        result = psql(conninfo, env=env)
        assert (result.returncode, result.stdout.strip()) == (0, "nyx"), (name, result.stderr)


@pytest.mark.skipif(not IS_ROOT, reason="switching to another OS user needs root")
def test_another_os_user_is_refused_over_tcp_and_the_socket(server):
    for name, (conninfo, env) in attempts(server).items():
        as_owner = psql(conninfo, env=env)
        as_other = psql(conninfo, as_user=OTHER_USER, env=env)
        assert as_other.returncode != 0, f"{OTHER_USER} got in by {name}: {as_other.stdout}"
        assert "nyx" not in as_other.stdout
        if "passfile" in name.lower() or "DSN" in name:
            assert as_owner.returncode == 0, (name, as_owner.stderr)  # the same command works for the owner
    # the socket: not even reachable for another user; over TCP, the passfile is unreadable to it
    socket_try = psql(attempts(server)["socket, passfile"][0], as_user=OTHER_USER)
    assert "Permission denied" in socket_try.stderr, socket_try.stderr
    tcp_try = psql(server.dsn(), as_user=OTHER_USER)
    assert "no password supplied" in tcp_try.stderr, tcp_try.stderr


def make_it_a_trust_cluster(srv: EmbeddedPostgres) -> None:
    """Turn ``srv`` into what an older nyx left: trust authentication, no password, no passfile,
    a socket directory others may enter."""
    with psycopg.connect(srv.dsn(), autocommit=True) as conn:
        conn.execute("create table kept (x int); insert into kept values (42)")
        conn.execute("alter role nyx password null")
        (srv.pgdata / "pg_hba.conf").write_text(TRUST_HBA)
        conn.execute("select pg_reload_conf()")
    srv.passfile.unlink()
    os.chmod(srv.socket_dir, 0o755)
    port = port_of(srv)
    assert psql(f"host=127.0.0.1 port={port} user=nyx dbname=nyx").returncode == 0  # trust: anyone gets in


@pytest.mark.parametrize("left", ["running", "stopped"])
def test_a_trust_cluster_of_an_older_nyx_is_secured_on_the_next_start(server, left):
    make_it_a_trust_cluster(server)
    old_pid = server.status()["pid"]
    if left == "stopped":
        assert server.stop()
    dsn = EmbeddedPostgres(server.data_dir).ensure_running()
    port = port_of(server)
    assert server.passfile.exists() and (server.passfile.stat().st_mode & 0o777) == 0o600
    assert (server.pgdata / "pg_hba.conf").read_text() == HBA_CONF
    assert (server.socket_dir.stat().st_mode & 0o777) == 0o700
    assert server.status()["pid"] != old_pid  # a running trust server was stopped, not left accepting
    assert psql(f"host=127.0.0.1 port={port} user=nyx dbname=nyx").returncode != 0
    assert psql(f"host={server.socket_dir} port={port} user=nyx dbname=nyx").returncode != 0
    with psycopg.connect(dsn) as conn:
        assert conn.execute("select x from kept").fetchone() == (42,)  # the data is kept
    if IS_ROOT:
        assert psql(dsn, as_user=OTHER_USER).returncode != 0


def test_a_wrong_secret_is_one_line_naming_the_passfile_and_removing_it_resets(server):
    assert server.stop()
    text = server.passfile.read_text()
    server.passfile.write_text(text.replace(server._secret(), "not-the-secret"))
    with pytest.raises(EmbeddedServerError) as info:
        server.ensure_running()
    message = str(info.value)
    assert str(server.passfile) in message and "\n" not in message and "not-the-secret" not in message
    server.passfile.unlink()
    dsn = server.ensure_running()
    assert psql(dsn).stdout.strip() == "nyx"


def test_a_group_or_world_readable_passfile_is_made_private(server):
    os.chmod(server.passfile, 0o644)
    server.ensure_running()
    assert (server.passfile.stat().st_mode & 0o777) == 0o600


def test_scram_verifier_matches_the_rfc_7677_example():
    # RFC 7677, section 3: user "user", password "pencil", this salt, 4096 iterations
    import base64

    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    verifier = scram_verifier("pencil", salt=salt, iterations=4096)
    assert verifier == ("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
                        "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=")


# --- the commands: db url, db env, db status and the line that says which database --------------


@pytest.fixture
def home(server, monkeypatch) -> EmbeddedPostgres:
    """``server`` as the embedded default: NYX_HOME is its data directory, nothing else configured."""
    monkeypatch.setenv("NYX_HOME", str(server.data_dir))
    for name in [n for n in os.environ if n.startswith("PG")] + ["PHOEBE_DSN"]:
        monkeypatch.delenv(name, raising=False)
    return server


def test_db_commands_never_print_the_secret_and_their_output_connects(capsys, home):
    secret = home._secret()
    url = run_cli(capsys, "db", "url")
    assert url.code == 0 and secret not in url.out + url.err
    assert psql(url.out.strip()).stdout.strip() == "nyx"  # psql "$(nyx-collect db url)"
    env = run_cli(capsys, "db", "env")
    assert env.code == 0 and secret not in env.out + env.err
    exported = dict(line.removeprefix("export ").split("=", 1) for line in env.out.splitlines())
    exported = {k: shlex.split(v)[0] if v.strip("'") else "" for k, v in exported.items()}
    assert exported["PGPASSFILE"] == str(home.passfile) and exported["PGPASSWORD"] == ""
    assert psql("", env=exported).stdout.strip() == "nyx"  # eval "$(nyx-collect db env)" && psql
    assert psql("", env={**exported, "PGPASSWORD": ""}).returncode == 0
    status = run_cli(capsys, "db", "status")
    assert status.code == 0 and secret not in status.out + status.err and str(home.passfile) in status.out
    explicit = run_cli(capsys, "db", "url", "--with-password")
    assert explicit.code == 0 and secret in explicit.out  # only where it is asked for
    assert psql(explicit.out.strip()).stdout.strip() == "nyx"


def test_db_env_keeps_a_configured_password_out_of_its_output(capsys, home, monkeypatch):
    monkeypatch.setenv("PHOEBE_DSN", "postgresql://bob:s3cret%3Apw@db.example:5433/lab")
    env = run_cli(capsys, "db", "env")
    assert env.code == 0 and "s3cret" not in env.out + env.err
    exported = {k: v for k, v in (line.removeprefix("export ").split("=", 1) for line in env.out.splitlines())}
    passfile = Path(exported["PGPASSFILE"])
    assert passfile.parent == home.data_dir and (passfile.stat().st_mode & 0o777) == 0o600
    assert "db.example:5433:lab:bob:s3cret\\:pw\n" in passfile.read_text()
    assert exported["PGHOST"] == "db.example" and exported["PGPASSWORD"] == "''"


def test_collecting_into_the_embedded_server_says_so_in_its_first_line(capsys, home, tiny_model_dir):
    result = run_cli(capsys, "Pflicht", "--runs", "2", "--max-new-tokens", "3", "--model", str(tiny_model_dir),
                     "--quiet", "--json", "--no-iris")
    assert result.code == 0, result.err
    first = result.err.splitlines()[0]
    assert first.startswith(f"Using the embedded PostgreSQL server in {home.data_dir} (127.0.0.1:{port_of(home)}")
    assert "no --dsn, PHOEBE_DSN or PG* variable is set" in first and home._secret() not in result.err


def test_collecting_into_a_configured_server_names_it_in_its_first_line(capsys, db_dsn, tiny_model_dir, monkeypatch):
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(db_dsn)
    monkeypatch.setenv("PHOEBE_DSN", db_dsn)
    result = run_cli(capsys, "Pflicht", "--runs", "2", "--max-new-tokens", "3", "--model", str(tiny_model_dir),
                     "--quiet", "--json", "--no-iris")
    assert result.code == 0, result.err
    first = result.err.splitlines()[0]
    user = f"{params['user']}@" if params.get("user") else ""
    port = f":{params['port']}" if params.get("port") else ""
    assert first == f"Using PostgreSQL {user}{params.get('host') or 'localhost'}{port}/{params['dbname']} (from PHOEBE_DSN)"
    assert not params.get("password") or params["password"] not in result.err
