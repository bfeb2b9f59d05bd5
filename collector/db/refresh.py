"""Refreshing the dbt models for dashboards: ``dbt build`` without the unit tests, once or on a timer.

The routine refresh runs every model and every data test, but not the unit tests: those check SQL
logic against fixed fixtures, change only when the project's code changes, and belong to CI and
to a full ``dbt build``. The incremental models read only raw rows loaded since the last build, so
a refresh costs what the new runs cost, plus dbt's own overhead.

That overhead is mostly start-up: importing dbt takes about 3 s on this 2-core machine, parsing
(partial) about 1 s. ``nyx-collect refresh --every 60`` keeps one dbt in memory and pays it once;
after 1000 new runs on a 1M-run database each refresh then took about 7.5 s (docs/performance.md).

dbt reads its connection from the process environment (the PG* variables the profile names), and
an in-process dbt has no other way to receive it; this module does not change the environment:
the process's entry point (the CLI, the benchmark) puts the variables there first.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from collector.core.errors import DatabaseError, InputError, Interrupted, RefreshFailed
from collector.core.params import check_limit
from collector.core.paths import cache_dir

ROUTINE = ("build", "--exclude-resource-type", "unit_test")
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the checkout: collector/db/refresh.py


@dataclass(frozen=True)
class RefreshResult:
    elapsed_s: float
    counts: dict[str, int]
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def line(self) -> str:
        parts = ", ".join(f"{n} {status}" for status, n in sorted(self.counts.items()))
        return f"refreshed in {self.elapsed_s:.1f} s: {parts or 'nothing to do'}"


def find_project(explicit: Path | None = None) -> Path:
    """The dbt project: ``explicit``, else the current directory, else the checkout this package is in."""
    candidates = [explicit] if explicit else [Path.cwd(), PACKAGE_ROOT]
    for path in candidates:
        if path is not None and (path / "dbt_project.yml").is_file():
            return path.resolve()
    where = explicit or "the current directory"
    raise InputError(f"no dbt_project.yml in {where}: pass --project-dir")


def find_profiles(project: Path) -> Path:
    """``DBT_PROFILES_DIR``, else the project's profiles.yml, else a copy of its profiles.example.yml."""
    if os.environ.get("DBT_PROFILES_DIR"):
        return Path(os.environ["DBT_PROFILES_DIR"])
    if (project / "profiles.yml").is_file():
        return project
    example = project / "profiles.example.yml"
    if not example.is_file():
        raise InputError(f"no profiles.yml or profiles.example.yml in {project}: set DBT_PROFILES_DIR")
    target = cache_dir() / "dbt-profiles"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(example, target / "profiles.yml")
    return target


class Refresher:
    """One dbt kept in memory; :meth:`run` refreshes the models against the server the process
    environment names (see the module docstring)."""

    def __init__(self, project: Path) -> None:
        try:
            from dbt.cli.main import dbtRunner
        except ImportError:
            raise InputError("dbt is not installed: pip install 'nyx-collector[dbt]'") from None
        self.project = project
        self.args = [*ROUTINE, "--project-dir", str(project), "--profiles-dir", str(find_profiles(project)),
                     "--log-level", "none"]  # dbt's own log still goes to logs/dbt.log
        if "DBT_SEND_ANONYMOUS_USAGE_STATS" not in os.environ:
            self.args.append("--no-send-anonymous-usage-stats")
        self.runner = dbtRunner()

    def run(self, full_refresh: bool = False) -> RefreshResult:
        """One refresh; ``full_refresh`` rebuilds the incremental models from scratch."""
        started = time.monotonic()
        outcome = self.runner.invoke([*self.args, *(["--full-refresh"] if full_refresh else [])])
        elapsed = time.monotonic() - started
        if outcome.exception is not None:
            lines = [line.strip() for line in str(outcome.exception).splitlines() if line.strip()]
            reason = ": ".join(lines[:2]) if lines else type(outcome.exception).__name__
            raise DatabaseError(f"dbt could not refresh: {reason}")
        results = getattr(outcome.result, "results", None) or []
        counts = Counter(str(getattr(r.status, "value", r.status)) for r in results)
        failed = [r.node.unique_id for r in results if str(getattr(r.status, "value", r.status)) in ("error", "fail")]
        if not outcome.success and not failed:
            failed = ["dbt reported a failure (see logs/dbt.log)"]
        return RefreshResult(elapsed, dict(counts), failed)


def check_refresh_options(every: float | None, times: int | None) -> None:
    """InputError unless ``every`` is 0..86400 seconds and ``times`` 1..MAX_LIMIT (checked before
    anything connects)."""
    if every is not None and not 0 <= every <= 86400:
        raise InputError(f"--every must be between 0 and 86400 seconds, got {every}")
    if times is not None:
        check_limit("--times", times)


def refresh_marts(*, every: float | None = None, times: int | None = None, full_refresh: bool = False,
                  project_dir: Path | None = None) -> Iterator[RefreshResult]:
    """Refresh the dbt models and data tests once, or every ``every`` seconds (``times`` at most);
    yield each result. dbt reads the server from the PG* variables of the process environment.
    A failed refresh raises RefreshFailed when it runs once; on a timer the next one follows."""
    check_refresh_options(every, times)
    limit = times if times is not None else (None if every is not None else 1)
    refresher = Refresher(find_project(project_dir))
    done = 0
    try:
        while True:
            result = refresher.run(full_refresh=full_refresh and done == 0)
            done += 1
            yield result
            if not result.ok and every is None:
                raise RefreshFailed(f"{len(result.failed)} node(s) failed: {', '.join(result.failed[:5])}")
            if limit is not None and done >= limit:
                break
            time.sleep(every or 0)
    except KeyboardInterrupt:
        raise Interrupted(f"stopped after {done} refresh(es)") from None
