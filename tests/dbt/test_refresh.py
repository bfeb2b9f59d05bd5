"""nyx-collect refresh: the routine dbt build (models and data tests, no unit tests) on a real database."""

from __future__ import annotations

import json

from tests.cli_helpers import query
from tests.conftest_dbt import insert_synthetic_session
from tests.dbt_helpers import run_refresh as refresh


def test_refresh_builds_then_picks_up_new_runs(db_dsn, tmp_path):
    first = insert_synthetic_session(db_dsn, "Erste", "synthetic-model", 0.8, 12)
    done = refresh(db_dsn, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    line = done.stdout.strip()
    assert line.startswith("refreshed in ") and " pass" in line and "error" not in line, line
    assert done.stderr == ""
    runs = "select session_id, runs_stored from marts.session_stats order by runs_stored"
    assert [(r["session_id"], r["runs_stored"]) for r in query(db_dsn, runs)] == [(first, 12)]
    # no unit tests in a routine refresh: they only read fixtures
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    kinds = {r["unique_id"].split(".")[0] for r in results}
    assert kinds == {"model", "test", "operation"}, kinds  # operation: the on-run-start hook (schema stats)

    second = insert_synthetic_session(db_dsn, "Zweite", "synthetic-model", 0.8, 20)
    again = refresh(db_dsn, tmp_path, "--every", "0", "--times", "2", "--full-refresh")  # rebuild, then refresh
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(again.stdout.strip().splitlines()) == 2
    assert [(r["session_id"], r["runs_stored"]) for r in query(db_dsn, runs)] == [(first, 12), (second, 20)]


def test_refresh_refuses_bad_input_in_one_line(tmp_path):
    cases = [
        (["--every", "-1"], "postgresql://nyx@127.0.0.1:1/nyx", 2, "--every"),
        (["--times", "0"], "postgresql://nyx@127.0.0.1:1/nyx", 2, "--times"),
        ([], "postgresql://nyx@127.0.0.1:1/nyx?connect_timeout=2", 4, "dbt could not refresh"),
    ]
    for args, dsn, code, fragment in cases:
        done = refresh(dsn, tmp_path, *args)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == code, done.stderr
        assert len(lines) == 1 and lines[0].startswith("Error: ") and fragment in lines[0], done.stderr
        assert done.stdout == ""
