"""A plain ``pip install`` (no extras) holds everything the default command uses.

The package is installed into a fresh virtualenv of its own (no system site-packages, which would
hide a missing dependency); pip takes the wheels from its cache and the local wheel directories,
so nothing is compiled. torch comes first and pinned, as in the Makefile (an unpinned torch pulls
a CUDA build). Then ``nyx-collect TERM`` runs with its defaults, iris included, against the test
database with the tiny model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import query

REPO = Path(__file__).resolve().parents[2]
TORCH = os.environ.get("TORCH", "torch==2.13.0")

pytestmark = [pytest.mark.slow, pytest.mark.install]


def _run(*argv: str, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    done = subprocess.run(list(argv), capture_output=True, text=True, env=env, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_the_default_command_works_after_an_install_without_extras(tmp_path, db_dsn, tiny_model_dir):
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", str(venv))
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run(*pip, TORCH)
    _run(*pip, str(REPO))

    extras = _run(python, "-c", "import importlib.util as u; print([m for m in ('dbt', 'matplotlib', 'pytest') "
                                "if u.find_spec(m)])").stdout.strip()
    assert extras == "[]", f"an extra's package is installed: {extras}"

    env = {k: v for k, v in os.environ.items() if k not in ("PHOEBE_DSN", "IRIS_URL", "VIRTUAL_ENV")}
    env.update(NYX_HOME=str(tmp_path / "home"), NYX_CACHE=str(tmp_path / "cache"))
    done = _run(str(venv / "bin" / "nyx-collect"), "Aufhebung", "--runs", "3", "--batch-size", "3",
                "--max-new-tokens", "4", "--seed", "5", "--model", str(tiny_model_dir), "--dsn", db_dsn,
                "--json", "--quiet", env=env, timeout=300)
    summary = json.loads(done.stdout)
    assert summary["status"] == "completed" and summary["runs_stored"] == 3
    stored = query(db_dsn, "select chains from raw.session_semantic_variance where session_id = %s",
                   (summary["session_id"],))
    assert stored and stored[0]["chains"] == 3  # the chains went to iris (ChromaDB, a core dependency)
