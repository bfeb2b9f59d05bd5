"""One embedded cluster's places: its data directory and the files in it, the binaries, the DSN, the
state file, the log, and running a PostgreSQL program on it as the server's account."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from collector.db.embedded.accounts import Account
from collector.db.embedded.binaries import clean_env, embedded_bin_dir
from collector.core.errors import EmbeddedServerError

SUPERUSER = "nyx"
DATABASE = "nyx"
PASSFILE_NAME = "pgpass"
CONF_NAME = "nyx.conf"
_MAX_SOCKET_PATH = 107  # sizeof(sockaddr_un.sun_path) - 1 on Linux


class Cluster:
    """The files of the cluster in ``data_dir / "pgdata"`` and the programs that work on it."""

    def __init__(self, data_dir: Path, bin_dir: Path | None = None):
        self.data_dir = Path(data_dir).expanduser().absolute()
        self.pgdata = self.data_dir / "pgdata"
        self.socket_dir = self.data_dir / "run"
        self.log_file = self.data_dir / "postgresql.log"
        self.state_file = self.data_dir / "server.json"
        self.lock_file = self.data_dir / ".lock"
        self.passfile = self.data_dir / PASSFILE_NAME
        self._bin_dir = Path(bin_dir) if bin_dir else None

    # -- locations and state ----------------------------------------------------------------

    @property
    def bin_dir(self) -> Path:
        return self._bin_dir or embedded_bin_dir()

    def bin(self, name: str) -> str:
        return str(self.bin_dir / name)

    def dsn_for(self, port: int | None) -> str | None:
        """The URL without the secret: libpq reads the password from the owner-only passfile it names."""
        if not port:
            return None
        return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{DATABASE}?passfile={quote(str(self.passfile), safe='/')}"

    def socket_dir_for(self, port: int) -> str:
        """The socket directory, or "" (no socket) when the socket's path would be too long."""
        socket_path = self.socket_dir / f".s.PGSQL.{port}"
        return str(self.socket_dir) if len(str(socket_path).encode()) <= _MAX_SOCKET_PATH else ""

    def fail(self, message: str) -> EmbeddedServerError:
        return EmbeddedServerError(f"{message}; see {self.log_file}")

    def read_state(self) -> dict[str, Any]:
        try:
            state = json.loads(self.state_file.read_text(encoding="utf-8"))
            return state if isinstance(state, dict) else {}
        except (OSError, ValueError):
            return {}

    def write_state(self, port: int) -> None:
        state = {"port": port, "dsn": self.dsn_for(port), "version": self.cluster_version()}
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
        os.chmod(tmp, 0o644)
        tmp.replace(self.state_file)

    def cluster_version(self) -> str | None:
        try:
            return (self.pgdata / "PG_VERSION").read_text().strip()
        except OSError:
            return None

    # -- running the binaries -------------------------------------------------------------------

    def run(self, account: Account, argv: list[str], what: str, stdin: str | None = None) -> str:
        """Run a PostgreSQL program as ``account`` (``stdin`` as its input); its output is appended to
        the log file and returned."""
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as given:
            if stdin is not None:
                given.write(stdin)
                given.seek(0)
            try:
                result = subprocess.run(
                    argv,
                    stdin=given if stdin is not None else subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=self.data_dir,
                    env=clean_env(),
                    text=True,
                    **account.run_kwargs(),
                )
            except OSError as exc:
                raise self.fail(f"cannot run {argv[0]} as {account.name} to {what} the embedded server: {exc.strerror}") from exc
            out.seek(0)
            output = out.read()
        self.append_log(f"$ {' '.join(argv)}  (as {account.name}, exit {result.returncode})\n{output}")
        if result.returncode != 0:
            lines = [ln.strip() for ln in output.splitlines() if ln.strip() and "Examine the log" not in ln]
            last = lines[-1] if lines else f"exit code {result.returncode}"
            raise self.fail(f"embedded PostgreSQL: {what} failed ({last})")
        return output

    def append_log(self, text: str) -> None:
        try:
            with open(self.log_file, "a", encoding="utf-8") as fh:
                fh.write(f"--- nyx {time.strftime('%Y-%m-%d %H:%M:%S %z')}\n{text}")
                if not text.endswith("\n"):
                    fh.write("\n")
        except OSError:
            pass
