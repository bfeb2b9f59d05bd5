"""Who runs the embedded server, and the files and directories that account must own or reach.

PostgreSQL refuses to run as root. As root the server runs as the owner of an existing cluster, or
else as the system user ``nyxpg`` (created on first use); that user must be able to traverse every
parent directory of the data directory and to run the binaries.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

from collector.core.errors import EmbeddedServerError

SERVICE_USER = "nyxpg"


class Account:
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


def make_data_dir(data_dir: Path) -> None:
    """Create the data directory (and any missing parent) or make it private: 0700, or 0711 as
    root, whose server's service user must pass through it (``collector.core.paths.make_data_dir``)."""
    from collector.core.paths import make_data_dir as make_private_dir

    try:
        make_private_dir(data_dir)
    except NotADirectoryError:
        raise EmbeddedServerError(f"{data_dir} is not a directory; set NYX_HOME to another place") from None
    except OSError as exc:
        raise EmbeddedServerError(f"cannot create {exc.filename or data_dir}: {exc.strerror}; set NYX_HOME "
                                  "to a writable directory") from exc


def account_for(pgdata: Path) -> Account:
    """The account that runs the server of the cluster in ``pgdata`` (see the module docstring)."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return Account(me.pw_name, me.pw_uid, me.pw_gid)
    if (pgdata / "PG_VERSION").exists():
        return owner_account(pgdata)
    return Account(SERVICE_USER, *service_user())


def owner_account(pgdata: Path) -> Account:
    """The owner of ``pgdata``, who runs its server; never root."""
    st = pgdata.stat()
    if st.st_uid == 0:
        raise EmbeddedServerError(f"{pgdata} is owned by root; PostgreSQL cannot run as root")
    try:
        name = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        name = str(st.st_uid)
    return Account(name, st.st_uid, st.st_gid)


def service_user() -> tuple[int, int]:
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


def check_access(account: Account, data_dir: Path, bin_dir: Path) -> None:
    """The server's account must reach the data directory and run the binaries."""
    if account.is_me:
        return
    for path in [data_dir, *data_dir.parents]:
        if not account.can_traverse(path):
            raise EmbeddedServerError(
                f"the PostgreSQL service user {account.name} cannot enter {path}, a parent of the data "
                f"directory {data_dir}; set NYX_HOME to a directory it can reach (e.g. /var/lib/nyx)"
            )
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


def prepare_owned_paths(account: Account, data_dir: Path, pgdata: Path, socket_dir: Path, log_file: Path) -> None:
    """pgdata (0700), the socket directory and the log file belong to the server's account."""
    try:
        if not pgdata.exists():
            pgdata.mkdir(mode=0o700)
        if not socket_dir.exists():
            socket_dir.mkdir(mode=0o700)
        if not log_file.exists():
            log_file.touch(mode=0o640)
        if not account.is_me:
            for path in (pgdata, socket_dir, log_file):
                st = path.stat()
                if st.st_uid != account.uid:
                    os.chown(path, account.uid, account.gid)
        os.chmod(pgdata, 0o700)
        os.chmod(socket_dir, 0o700)  # the socket is its owner's alone (older nyx made it 0755)
    except OSError as exc:
        raise EmbeddedServerError(f"cannot prepare {exc.filename or data_dir}: {exc.strerror}") from exc
