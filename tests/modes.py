"""Who else may reach what nyx wrote: the modes of everything under a directory."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def usual_umask() -> Iterator[None]:
    """The usual umask (022), under which a file is 0644 unless nyx says otherwise; a process
    started meanwhile inherits it."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def open_to_others(top: Path) -> list[str]:
    """``top`` if its group or others may list or change it (passing through, 0711, is allowed: as
    root the data directory must let the database's service user by), and every path below it that
    its group or others may read, write or enter, each as ``path 0644``."""
    found = []
    if stat.S_IMODE(top.stat().st_mode) & 0o066:
        found.append(f"{top} {stat.S_IMODE(top.stat().st_mode):04o}")
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            mode = os.lstat(os.path.join(root, name)).st_mode
            if not stat.S_ISLNK(mode) and mode & 0o077:
                found.append(f"{os.path.join(root, name)} {stat.S_IMODE(mode):04o}")
    return found
