"""A private embedded PostgreSQL server for the judge checks (bench/known_groups.py, bench/model_ladder.py),
and the `nyx-collect` calls they make against it.

Never the user's data: the server lives in its own directory (a fresh one under /tmp, removed at the
end, or a fixed one that is kept so its sessions can be judged again later), and NYX_HOME points
there too. The model cache stays the user's (converted models are not made again). Every
nyx-collect call runs the `nyx-collect` next to this Python with the caller's environment (so a
PYTHONPATH that points at a work tree reaches it), minus every variable that could name another
database.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

NYX = Path(sys.executable).with_name("nyx-collect")


def private_env(home: Path, dsn: str) -> dict[str, str]:
    """The environment for nyx-collect: the private data dir and server, the user's model cache."""
    from collector.db.dsn import libpq_env
    from collector.core.paths import cache_dir

    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PG") and k not in ("PHOEBE_DSN", "IRIS_URL", "DBT_PROFILES_DIR")}
    env.update(NYX_CACHE=os.environ.get("NYX_CACHE") or str(cache_dir()), NYX_HOME=str(home),
               DBT_SEND_ANONYMOUS_USAGE_STATS="false", DBT_TARGET_PATH=str(home / "dbt-target"),
               DBT_LOG_PATH=str(home / "dbt-logs"), DBT_PROFILES_DIR=str(home / "dbt-profiles"))
    env.update(libpq_env(dsn))
    return env


@dataclass
class Private:
    """A running private server: its directory, DSN and the environment for nyx-collect."""

    base: Path
    dsn: str
    env: dict[str, str]

    def nyx(self, *args: str, capture: bool = True) -> subprocess.CompletedProcess:
        """Run ``nyx-collect ARGS --dsn DSN``; stop the script with its exit code if it fails."""
        done = subprocess.run([str(NYX), *args, "--dsn", self.dsn], env=self.env, cwd=REPO,
                              stdout=subprocess.PIPE if capture else None, text=True)
        if done.returncode != 0:
            raise SystemExit(f"nyx-collect {args[0]} failed (exit {done.returncode})")
        return done

    def collect(self, terms: list[str], runs: int, seed: int, max_new_tokens: int, extra: list[str]) -> list[dict]:
        """One session per term (full settings in ``extra``), --no-iris; the JSON summaries."""
        shown = (f"nyx-collect collect {' '.join(terms)} --runs {runs} --seed {seed} "
                 f"--max-new-tokens {max_new_tokens} --no-iris {' '.join(extra)}")
        print(f"$ {shown}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        done = self.nyx("collect", *terms, "--runs", str(runs), "--seed", str(seed), "--max-new-tokens",
                        str(max_new_tokens), "--no-iris", "--json", "--quiet", *extra)
        summaries = [json.loads(line) for line in done.stdout.splitlines() if line.strip().startswith("{")]
        print(f"  {len(summaries)} sessions in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        return summaries

    def refresh(self) -> None:
        """``nyx-collect refresh`` (dbt build of the marts) against the private server."""
        profiles = Path(self.env["DBT_PROFILES_DIR"])
        profiles.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "profiles.example.yml", profiles / "profiles.yml")
        done = subprocess.run([str(NYX), "refresh", "--dsn", self.dsn, "--project-dir", str(REPO)], env=self.env,
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        print(done.stdout.strip(), file=sys.stderr, flush=True)
        if done.returncode != 0:
            raise SystemExit(f"nyx-collect refresh failed (exit {done.returncode})")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


@contextmanager
def private_server(directory: Path | None = None, *, keep: bool = False, prefix: str = "nyx-bench-") -> Iterator[Private]:
    """Start a private embedded server and yield it; stop it at the end.

    ``directory`` None: a fresh directory under /tmp, removed at the end unless ``keep`` (then the
    server keeps running too). A ``directory`` is created if missing, never removed, and its server
    is stopped at the end (started again by the next use)."""
    from collector.db.embedded import EmbeddedPostgres

    # SIGTERM runs the finally below too (the server is stopped, a temporary directory removed)
    signal.signal(signal.SIGTERM, _interrupt)
    fixed = directory is not None
    if fixed:
        base = directory.resolve()
        base.mkdir(parents=True, exist_ok=True)
    else:
        base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(base, 0o755)  # as root the server runs as a service user that must enter it
    home = base / "home"
    home.mkdir(exist_ok=True)
    os.chmod(home, 0o755)
    server = EmbeddedPostgres(base / "data")
    try:
        dsn = server.ensure_running()
        yield Private(base, dsn, private_env(home, dsn))
        if keep and not fixed:
            print(f"kept: database {dsn}\n  NYX_HOME={home}\n  stop with: .venv/bin/python -c \"from pathlib import "
                  f"Path; from collector.db.embedded import EmbeddedPostgres; "
                  f"EmbeddedPostgres(Path('{base / 'data'}')).stop()\" && rm -rf {base}", file=sys.stderr)
    finally:
        if fixed or not keep:
            try:
                server.stop()
            finally:
                if not fixed and not keep:
                    shutil.rmtree(base, ignore_errors=True)
