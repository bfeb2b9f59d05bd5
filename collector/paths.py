"""Where the tool keeps its own files (embedded database, converted models, vector store)."""

import os
from pathlib import Path


def data_dir() -> Path:
    """The tool's data directory.

    ``NYX_HOME`` wins. Otherwise, as root, ``/var/lib/nyx``: the embedded PostgreSQL server
    cannot run as root and runs as a service user, which must be able to traverse every parent
    of its data directory, and ``/root`` is private. Otherwise ``$XDG_DATA_HOME/nyx`` or
    ``~/.local/share/nyx``.
    """
    if os.environ.get("NYX_HOME"):
        return Path(os.environ["NYX_HOME"]).expanduser().absolute()
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/nyx")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser().absolute() / "nyx"


def cache_dir() -> Path:
    """Cache for converted models and calibration statistics (``NYX_CACHE`` overrides)."""
    if os.environ.get("NYX_CACHE"):
        return Path(os.environ["NYX_CACHE"]).expanduser().absolute()
    return data_dir() / "cache"
