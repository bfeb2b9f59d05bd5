"""Running the real dbt project against a test database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from collector.db.dsn import libpq_env

REPO = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).with_name("dbt")


def dbt_env(dsn: str, workdir: Path) -> dict[str, str]:
    """Environment for dbt: the example profile, and PG* variables taken from ``dsn``."""
    profiles = workdir / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "profiles.example.yml", profiles / "profiles.yml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(libpq_env(dsn))
    env.update(DBT_PROFILES_DIR=str(profiles), DBT_SEND_ANONYMOUS_USAGE_STATS="false", NO_COLOR="1")
    return env


def run_dbt(dsn: str, *args: str, workdir: Path | None = None) -> subprocess.CompletedProcess:
    """``dbt ARGS`` from the repository root against ``dsn``, with its own target and log paths."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="nyx-dbt-"))
    command = [str(DBT), *args, "--target-path", str(workdir / "target"), "--log-path", str(workdir / "logs")]
    return subprocess.run(command, cwd=REPO, env=dbt_env(dsn, workdir), capture_output=True, text=True,
                          timeout=900)


def run_refresh(dsn: str, workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """``nyx-collect refresh ARGS`` (the routine build: models and data tests) against ``dsn``, with
    dbt's target and logs in ``workdir``."""
    env = dbt_env(dsn, workdir)
    env.update(DBT_TARGET_PATH=str(workdir / "target"), DBT_LOG_PATH=str(workdir / "logs"))
    return subprocess.run([sys.executable, "-m", "collector", "refresh", "--dsn", dsn, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
