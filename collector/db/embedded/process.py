"""The embedded server's process: the lock every change holds, the pid file, liveness, the port,
start and stop.

Every operation that changes the server holds an exclusive ``flock`` on ``<data_dir>/.lock``, so two
processes calling ``ensure_running`` at once end up sharing one server. The port is recorded in
``<data_dir>/server.json`` and reused; the first choice is 54329, else any free port.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from collector.db.embedded.accounts import Account
from collector.db.embedded.auth import read_secret
from collector.db.embedded.cluster import CONF_NAME, SUPERUSER, Cluster
from collector.core.errors import EmbeddedServerError

DEFAULT_PORT = 54329
LOCK_TIMEOUT_S = 180
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 60


@contextmanager
def locked(cluster: Cluster) -> Iterator[None]:
    """Hold the exclusive lock on ``<data_dir>/.lock`` (waiting up to LOCK_TIMEOUT_S)."""
    lock_file = cluster.lock_file
    try:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise EmbeddedServerError(
            f"cannot open {lock_file}: {exc.strerror}; set NYX_HOME to a directory you can write"
        ) from exc
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EmbeddedServerError(
                        f"another process has held {lock_file} for over {LOCK_TIMEOUT_S} s"
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)  # releases the lock


# -- pid file and liveness ------------------------------------------------------------------------


def pidfile(cluster: Cluster) -> dict[str, Any] | None:
    """pid, port and socket dir recorded in postmaster.pid, or None without a readable one."""
    try:
        lines = (cluster.pgdata / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (OSError, ValueError, IndexError):
        return None
    socket_dir = lines[4].strip() if len(lines) > 4 and lines[4].strip() else None
    return {"pid": pid, "port": port, "socket_dir": socket_dir}


def is_postgres(pid: int) -> bool | None:
    """True: a live postgres process; False: dead, or a pid now used by another program; None: unknown."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's process
    try:
        return b"postgres" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False if Path("/proc/self").exists() else None
    except OSError:
        return None


def postmaster(cluster: Cluster) -> dict[str, Any] | None:
    """The pid file's content when a server of this cluster is alive; else None."""
    info = pidfile(cluster)
    if info is None or is_postgres(info["pid"]) is False:
        return None
    return info


def remove_stale_pidfile(cluster: Cluster) -> None:
    """A pid file left by a crash may name a pid another program uses now; postgres would not start."""
    info = pidfile(cluster)
    if info is not None and is_postgres(info["pid"]) is False:
        (cluster.pgdata / "postmaster.pid").unlink(missing_ok=True)
        cluster.append_log(f"removed the stale postmaster.pid of pid {info['pid']}, which is not a postgres process\n")


# -- connections ----------------------------------------------------------------------------------


def connect(cluster: Cluster, port: int, dbname: str = "postgres", timeout: int = 3,
            **kwargs: Any) -> psycopg.Connection:
    """A superuser connection over TCP, with the secret (none yet: a server of an older nyx)."""
    return psycopg.connect(host="127.0.0.1", port=port, user=SUPERUSER, password=read_secret(cluster.passfile) or "",
                           dbname=dbname, connect_timeout=timeout, **kwargs)


def accepting(cluster: Cluster, port: int, dbname: str = "postgres") -> bool:
    try:
        with connect(cluster, port, dbname):
            return True
    except psycopg.Error:
        return False


def wait_accepting(cluster: Cluster, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with connect(cluster, port):
                return
        except psycopg.OperationalError as exc:
            if "password authentication failed" in str(exc):
                raise EmbeddedServerError(
                    f"the embedded PostgreSQL server refused the password in {cluster.passfile}; remove that "
                    "file and run again to set a new one (the server restarts)"
                ) from None
        if time.monotonic() > deadline or postmaster(cluster) is None:
            raise cluster.fail(f"the embedded PostgreSQL server on port {port} does not accept connections")
        time.sleep(0.25)


def server_version(cluster: Cluster, port: int) -> str | None:
    try:
        with connect(cluster, port) as conn:
            return conn.execute("show server_version").fetchone()[0]
    except psycopg.Error:
        return cluster.cluster_version()


# -- port -----------------------------------------------------------------------------------------


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def any_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def choose_port(cluster: Cluster, avoid: set[int]) -> int:
    recorded = cluster.read_state().get("port")
    for port in (recorded, DEFAULT_PORT):
        if isinstance(port, int) and 0 < port < 65536 and port not in avoid and port_free(port):
            return port
    return any_free_port()


# -- start and stop -------------------------------------------------------------------------------


def write_conf(cluster: Cluster, account: Account, port: int) -> None:
    quoted = cluster.socket_dir_for(port).replace("'", "''")
    conf = cluster.pgdata / CONF_NAME
    conf.write_text(
        "# Written by nyx before every start; edits here are overwritten.\n"
        "listen_addresses = '127.0.0.1'\n"
        f"port = {port}\n"
        f"unix_socket_directories = '{quoted}'\n"
        "unix_socket_permissions = 0700\n"
        "password_encryption = 'scram-sha-256'\n",
        encoding="utf-8",
    )
    if not account.is_me:
        os.chown(conf, account.uid, account.gid)


def start(cluster: Cluster, account: Account) -> int:
    """Start the server on a free port (up to three tries) and wait until it accepts; its port."""
    remove_stale_pidfile(cluster)
    tried: set[int] = set()
    for _attempt in range(3):
        port = choose_port(cluster, tried)
        tried.add(port)
        write_conf(cluster, account, port)
        log_size = cluster.log_file.stat().st_size if cluster.log_file.exists() else 0
        try:
            cluster.run(
                account,
                [cluster.bin("pg_ctl"), "start", "-D", str(cluster.pgdata), "-l", str(cluster.log_file),
                 "-w", "-t", str(START_TIMEOUT_S), "-s"],
                what="start",
            )  # fmt: skip
        except EmbeddedServerError:
            if address_in_use(cluster.log_file, log_size):
                continue  # someone took the port between the check and the start
            fatal = log_error(cluster.log_file, log_size)
            if fatal:
                raise cluster.fail(f"embedded PostgreSQL did not start: {fatal}") from None
            raise
        info = postmaster(cluster)
        if info is None:
            raise cluster.fail("the embedded PostgreSQL server stopped right after starting")
        wait_accepting(cluster, info["port"], START_TIMEOUT_S)
        return info["port"]
    raise cluster.fail(f"no free port for the embedded PostgreSQL server (tried {sorted(tried)})")


def pg_ctl_stop(cluster: Cluster, account: Account) -> None:
    cluster.run(
        account,
        [cluster.bin("pg_ctl"), "stop", "-D", str(cluster.pgdata), "-m", "fast", "-w", "-t", str(STOP_TIMEOUT_S)],
        what="stop",
    )


def log_error(log_file: Path, since: int) -> str | None:
    """The first FATAL/PANIC line the server logged after byte ``since``, without its prefix."""
    try:
        with open(log_file, "rb") as fh:
            fh.seek(since)
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return None
    for line in text.splitlines():
        for level in ("FATAL:", "PANIC:"):
            if level in line:
                return line.split(level, 1)[1].strip()
    return None


def address_in_use(log_file: Path, since: int) -> bool:
    try:
        with open(log_file, "rb") as fh:
            fh.seek(since)
            return b"Address already in use" in fh.read()
    except OSError:
        return False
