"""Is the collector of a 'running' session still alive? (Used to mark stale sessions.)"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any


def _process_is_collector(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return True  # no /proc here: alive is the best we know
    state = ""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        pass
    return state != "Z" and ("nyx-collect" in cmdline or "collector" in cmdline or "pytest" in cmdline)


def session_state(row: dict[str, Any]) -> str:
    """The session's status, with 'running' refined: 'stale' when its collector on this host is gone,
    'running elsewhere' when it runs on another host (which cannot be checked from here)."""
    if row["status"] != "running":
        return row["status"]
    if row["hostname"] != socket.gethostname():
        return "running elsewhere"
    return "running" if _process_is_collector(int(row["pid"])) else "stale"
