"""Where the tool keeps its own files (embedded database, converted models, vector store), and
how it keeps them private: terms, session ids and echo types are nobody else's business."""

from __future__ import annotations

import errno
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def data_dir() -> Path:
    """The tool's data directory.

    ``NYX_HOME`` wins. Otherwise, as root, ``/var/lib/nyx``: the embedded PostgreSQL server
    cannot run as root and runs as a service user, which must be able to traverse every parent
    of its data directory, and ``/root`` is private. Otherwise ``$XDG_DATA_HOME/nyx`` or
    ``~/.local/share/nyx``.
    """
    if os.environ.get("NYX_HOME"):
        return Path(os.environ["NYX_HOME"]).expanduser().absolute()
    if _is_root():
        return Path("/var/lib/nyx")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser().absolute() / "nyx"


def cache_dir() -> Path:
    """Cache for converted models and calibration statistics (``NYX_CACHE`` overrides)."""
    if os.environ.get("NYX_CACHE"):
        return Path(os.environ["NYX_CACHE"]).expanduser().absolute()
    return data_dir() / "cache"


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def data_dir_mode() -> int:
    """The data directory's mode: 0700; as root 0711, because the embedded PostgreSQL server then
    runs as a service user that must pass through it to its cluster (it can list nothing, and what
    is private below is 0700 itself)."""
    return 0o711 if _is_root() else PRIVATE_DIR_MODE


def make_data_dir(path: Path) -> Path:
    """``path`` as the data directory, with :func:`data_dir_mode` whatever the umask: created with
    any missing parent (those get the same mode), or, if it exists and is ours, set to that mode
    (older nyx made it 0755, so any local user could list and read it). OSError where impossible."""
    _make_missing(path, data_dir_mode())
    info = path.stat()
    if not stat.S_ISDIR(info.st_mode):
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))
    if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) != data_dir_mode():
        os.chmod(path, data_dir_mode())
    return path


def private_dir(path: Path, *, tree: bool = False) -> Path:
    """``path`` as a directory only its owner can enter (0700, whatever the umask): created if
    missing, any missing parent with :func:`data_dir_mode`; one that exists is made 0700. With
    ``tree``, whatever lies below loses its group and other permissions too (a store an older nyx
    filled with 0644 files). OSError where impossible (NotADirectoryError for a file in its place)."""
    _make_missing(path, PRIVATE_DIR_MODE)
    info = path.stat()
    if not stat.S_ISDIR(info.st_mode):
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))
    if stat.S_IMODE(info.st_mode) != PRIVATE_DIR_MODE:
        os.chmod(path, PRIVATE_DIR_MODE)
    if tree:
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                entry = os.path.join(root, name)
                mode = os.lstat(entry).st_mode
                if not stat.S_ISLNK(mode) and mode & 0o077:
                    os.chmod(entry, stat.S_IMODE(mode) & ~0o077)
    return path


def _make_missing(path: Path, mode: int) -> None:
    """Create ``path`` with ``mode`` (and its missing parents with :func:`data_dir_mode`), chmod'ed
    after ``mkdir`` since the umask may have taken bits away (0711 under umask 077)."""
    missing = []
    step = path
    while not os.path.lexists(step):
        missing.append(step)
        step = step.parent
    for made in reversed(missing):
        want = mode if made == path else data_dir_mode()
        try:
            made.mkdir(mode=want)
        except FileExistsError:
            continue  # another process made it first
        os.chmod(made, want)


def private_opener(path: str, flags: int) -> int:
    """An ``opener`` for :func:`open`: a file it creates is 0600 (the umask can only take away)."""
    return os.open(path, flags, PRIVATE_FILE_MODE)


_UMASK_LOCK = threading.RLock()


@contextmanager
def private_files() -> Iterator[None]:
    """Files and directories created meanwhile by any code (a library's own, say) are their owner's
    alone: umask 077 on top of the process's. The umask is per process, so this holds a lock: two
    threads in it at once would otherwise restore each other's umask."""
    with _UMASK_LOCK:
        old = os.umask(0o077)
        os.umask(old | 0o077)
        try:
            yield
        finally:
            os.umask(old)
