"""The embedded PostgreSQL server: start, reuse, stop, restart with the data kept."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from collector.db.embedded import accounts, process
from collector.db.embedded import EmbeddedPostgres
from collector.core.errors import EmbeddedServerError
from collector.db.store import Store
from tests.schema import ALL_MIGRATIONS

REPO_ROOT = Path(__file__).resolve().parents[2]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def base_dir() -> Iterator[Path]:
    """A fresh directory under /tmp that the service user can enter (mkdtemp makes 0700)."""
    base = Path(tempfile.mkdtemp(prefix="nyx-test-embedded-", dir="/tmp"))
    os.chmod(base, 0o755)
    yield base
    for data in base.iterdir():
        if (data / "pgdata").exists():
            try:
                EmbeddedPostgres(data).stop()
            except EmbeddedServerError:
                pass
    shutil.rmtree(base, ignore_errors=True)


def scalar(dsn: str, query: str):
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(query).fetchone()[0]


def test_start_reuse_stop_and_restart_keeps_the_data(base_dir):
    server = EmbeddedPostgres(base_dir / "data")
    assert server.status()["running"] is False and server.dsn() is None
    assert server.stop() is False  # nothing to stop yet

    dsn = server.ensure_running()
    port = server.status()["port"]
    passfile = base_dir / "data" / "pgpass"
    assert dsn == f"postgresql://nyx@127.0.0.1:{port}/nyx?passfile={passfile}"  # the secret stays in the file
    status = server.status()
    assert status["running"] is True and status["dsn"] == dsn and status["pid"] > 0
    assert status["data_dir"] == str(base_dir / "data")
    assert status["version"].split(".")[0] == (base_dir / "data" / "pgdata" / "PG_VERSION").read_text().strip()
    assert json.loads((base_dir / "data" / "server.json").read_text())["port"] == port

    # listens on 127.0.0.1 and on a socket inside the data directory, nowhere else
    assert scalar(dsn, "show listen_addresses") == "127.0.0.1"
    assert scalar(dsn, "show unix_socket_directories") == str(base_dir / "data" / "run")
    assert (base_dir / "data" / "run" / f".s.PGSQL.{port}").is_socket()
    socket = f"host={base_dir / 'data' / 'run'} port={port} user=nyx dbname=nyx passfile={passfile}"
    assert scalar(socket, "select current_database()") == "nyx"
    assert scalar(dsn, "select current_setting('server_encoding')") == "UTF8"

    # a second call reuses the running server
    assert server.ensure_running() == dsn
    assert server.status()["pid"] == status["pid"]
    assert EmbeddedPostgres(base_dir / "data").ensure_running() == dsn  # another instance, same cluster

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create table kept (x int); insert into kept values (42)")

    assert server.stop() is True
    stopped = server.status()
    assert stopped["running"] is False and stopped["pid"] is None and stopped["dsn"] is None
    assert server.dsn() is None
    assert server.stop() is False

    again = server.ensure_running()
    assert again == dsn  # the recorded port is reused
    assert server.status()["pid"] != status["pid"]
    assert scalar(again, "select x from kept") == 42

    # the unix socket works for the store and for migrations (yoyo gets the socket as host=...)
    run_dir = base_dir / "data" / "run"
    for socket_dsn in (f"host={run_dir} port={port} user=nyx dbname=nyx passfile={passfile}",
                       f"postgresql:///nyx?host={run_dir}&port={port}&user=nyx&passfile={passfile}"):  # fmt: skip
        with Store.connect(socket_dsn) as store:
            assert store.migrate() in (ALL_MIGRATIONS, [])
            assert store.list_sessions() == []


def test_concurrent_starts_share_one_server(base_dir):
    code = "import sys; from pathlib import Path; from collector.db.embedded import EmbeddedPostgres\n" \
           "print(EmbeddedPostgres(Path(sys.argv[1])).ensure_running())\n"  # fmt: skip
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(base_dir / "data")], cwd=REPO_ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]  # fmt: skip
    results = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    dsns = {out.strip().splitlines()[-1] for out, _ in results}
    assert len(dsns) == 1
    assert scalar(dsns.pop(), "select 1") == 1


def test_a_busy_default_port_gives_another_port(base_dir, monkeypatch):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        monkeypatch.setattr(process, "DEFAULT_PORT", taken)
        server = EmbeddedPostgres(base_dir / "data")
        dsn = server.ensure_running()
        assert server.status()["port"] != taken
        assert scalar(dsn, "select 1") == 1


def test_stale_pid_file_of_another_process_is_ignored(base_dir):
    server = EmbeddedPostgres(base_dir / "data")
    server.ensure_running()
    assert server.stop()
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        pidfile = base_dir / "data" / "pgdata" / "postmaster.pid"
        pidfile.write_text(f"{sleeper.pid}\n{base_dir / 'data' / 'pgdata'}\n0\n5432\n\n127.0.0.1\n0 0\nready\n")
        assert server.status()["running"] is False
        dsn = server.ensure_running()
        assert scalar(dsn, "select 1") == 1
        assert server.status()["pid"] != sleeper.pid
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.skipif(not IS_ROOT, reason="the service user exists only when running as root")
def test_a_private_parent_directory_is_refused_with_a_hint(base_dir):
    private = base_dir / "private"
    private.mkdir(mode=0o700)
    os.chmod(private, 0o700)
    server = EmbeddedPostgres(private / "nyx")
    with pytest.raises(EmbeddedServerError) as info:
        server.ensure_running()
    message = str(info.value)
    assert str(private) in message and "NYX_HOME" in message and "\n" not in message
    assert not (private / "nyx" / "pgdata" / "PG_VERSION").exists()
    assert (private.stat().st_mode & 0o777) == 0o700  # left as it was


@pytest.mark.skipif(not IS_ROOT, reason="the service user exists only when running as root")
def test_runs_as_the_service_user_when_root(base_dir):
    import pwd

    server = EmbeddedPostgres(base_dir / "data")
    dsn = server.ensure_running()
    owner = pwd.getpwuid((base_dir / "data" / "pgdata").stat().st_uid).pw_name
    assert owner == accounts.SERVICE_USER
    pid = server.status()["pid"]
    assert pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name == owner
    assert scalar(dsn, "select current_user") == "nyx"


def test_a_broken_cluster_gives_one_line_pointing_at_the_log(base_dir):
    server = EmbeddedPostgres(base_dir / "data")
    server.ensure_running()
    assert server.stop()
    (base_dir / "data" / "pgdata" / "postgresql.conf").write_text("this is not = a valid ' line\n")
    with pytest.raises(EmbeddedServerError) as info:
        server.ensure_running()
    message = str(info.value)
    assert "\n" not in message and message.endswith(f"see {base_dir / 'data' / 'postgresql.log'}")
