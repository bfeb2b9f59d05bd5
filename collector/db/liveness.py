"""Is the collector of a 'running' session still alive? (Used to mark stale sessions.)

A session row names the host and pid of its collector. On this host, the pid is the collector
when a process with that pid is alive and either

* was already running when the session began: pids are not reused while a process lives, so it is
  the very process that created the session (whatever its name: a script that collects through
  ``collector.write.collect`` is as much a collector as ``nyx-collect``), or
* names the collector on its command line (a resumed session keeps its first start time).

Otherwise the pid has been taken by some other process since, and the session is stale.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime
from pathlib import Path
from typing import Any

CLOCK_SLACK_S = 1.0
"""The boot time in /proc/stat has whole seconds."""


def _started_at(pid: int) -> float | None:
    """When process ``pid`` started (Unix time), or None where /proc cannot tell."""
    try:
        ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, IndexError, ValueError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def _process_is_collector(pid: int, session_started: datetime | None) -> bool:
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
    if state == "Z":
        return False
    if "nyx-collect" in cmdline or "collector" in cmdline:
        return True
    started = _started_at(pid)
    return (started is not None and session_started is not None
            and started <= session_started.timestamp() + CLOCK_SLACK_S)


def session_state(row: dict[str, Any]) -> str:
    """The session's status, with 'running' refined: 'stale' when its collector on this host is gone,
    'running elsewhere' when it runs on another host (which cannot be checked from here), 'queued'
    for a session whose shards the queue's workers collect (nyx-collect submit)."""
    if row["status"] != "running":
        return row["status"]
    if row.get("queued"):
        return "queued"  # its workers are the queue's to watch: `nyx-collect queue` shows its shards
    if row["hostname"] != socket.gethostname():
        return "running elsewhere"
    return "running" if _process_is_collector(int(row["pid"]), row.get("started_at")) else "stale"
