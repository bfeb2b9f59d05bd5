"""``EmbeddedPostgres``, what the rest of nyx calls: start the server if needed and give its DSN,
its status, the URL with the password, stop it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from collector.db.embedded.accounts import account_for, check_access, make_data_dir, owner_account, prepare_owned_paths
from collector.db.embedded.auth import read_secret, write_passfile
from collector.db.embedded.cluster import DATABASE, SUPERUSER, Cluster
from collector.db.embedded.initialise import check_version, ensure_database, initdb, secure
from collector.db.embedded.process import (
    START_TIMEOUT_S, accepting, locked, pg_ctl_stop, postmaster, server_version, start, wait_accepting,
)  # fmt: skip


class EmbeddedPostgres(Cluster):
    """The embedded server whose cluster lives in ``data_dir / "pgdata"``."""

    def ensure_running(self) -> str:
        """Initialise the cluster if needed, start the server if it is not running; return its DSN."""
        make_data_dir(self.data_dir)
        with locked(self):
            account = account_for(self.pgdata)
            if not account.is_me:  # only then are the binaries looked up here
                check_access(account, self.data_dir, self.bin_dir)
            prepare_owned_paths(account, self.data_dir, self.pgdata, self.socket_dir, self.log_file)
            if not (self.pgdata / "PG_VERSION").exists():
                initdb(self, account)
            check_version(self)
            secure(self, account)
            info = postmaster(self)
            if info is not None:
                port = info["port"]
                wait_accepting(self, port, START_TIMEOUT_S)
            else:
                port = start(self, account)
            write_passfile(self, self._secret(), port)
            ensure_database(self, port)
            self.write_state(port)
            return self.dsn_for(port)

    def url_with_password(self) -> str:
        """The running server's URL with the password in it, for programs without libpq password files.
        Only for a user who asked for it explicitly (``nyx-collect db url --with-password``)."""
        self.ensure_running()
        port = self.status()["port"]
        return f"postgresql://{SUPERUSER}:{quote(self._secret(), safe='')}@127.0.0.1:{port}/{DATABASE}"

    def status(self) -> dict[str, Any]:
        """``running``, ``pid``, ``port``, ``dsn``, ``data_dir``, ``version`` (and ``socket_dir``, ``log_file``)."""
        info = postmaster(self)
        running = info is not None and accepting(self, info["port"])
        port = info["port"] if info else self.read_state().get("port")
        version = server_version(self, info["port"]) if running else self.cluster_version()
        return {
            "running": running,
            "pid": info["pid"] if info else None,
            "port": port,
            "dsn": self.dsn_for(port) if running else None,
            "data_dir": str(self.data_dir),
            "version": version,
            "socket_dir": info.get("socket_dir") if info else None,
            "log_file": str(self.log_file),
            "passfile": str(self.passfile),
        }

    def dsn(self) -> str | None:
        """The DSN of the running server, or None when it is not running."""
        return self.status()["dsn"]

    def stop(self) -> bool:
        """Stop the server (fast shutdown: open sessions are disconnected); False if it was not running."""
        if not self.data_dir.is_dir():
            return False
        with locked(self):
            if postmaster(self) is None:
                return False
            pg_ctl_stop(self, owner_account(self.pgdata))
            return True

    def _secret(self) -> str | None:
        """The superuser's password from the passfile (None without one)."""
        return read_secret(self.passfile)
