"""`nyx-collect TERM --until-ci H`: batches until the 95% interval of the mean depth is narrow
enough (read from the database), the stopping rule stored with the session, resume keeping it,
and bad values refused like every other bad number. Tiny model, real PostgreSQL."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.cli_helpers import query, run_cli, table_counts
from tests.interval_reference import mean_interval


def collect(capsys, dsn, model_dir, *extra, quiet=True):
    return run_cli(capsys, "Wille", "--batch-size", "10", "--seed", "5", "--max-new-tokens", "4", "--dtype",
                   "float32", "--model", str(model_dir), "--dsn", dsn, "--no-iris", "--json",
                   *(["--quiet"] if quiet else []), *extra)


def session_row(dsn, sid):
    return query(dsn, "select s.*, (select count(*) from raw.variance_probe_runs as r where r.session_id = "
                      "s.session_id) as stored, (select max(run_number) from raw.variance_probe_runs as r "
                      "where r.session_id = s.session_id) as top from raw.probe_sessions as s "
                      "where session_id = %s", (sid,))[0]


def half_width(dsn, sid, max_rounds=3):
    """The reference (tests/interval_reference.py): z95 * sqrt(max(s^2, max_rounds^2 * min(3 / n, 1/4)) / n)
    over the stored depths, the half-width of the interval the marts report."""
    depths = [r["depth"] for r in query(dsn, "select depth from raw.variance_probe_runs where session_id = %s",
                                        (sid,))]
    return mean_interval(depths, max_rounds)[2]


def test_a_loose_target_stops_at_the_first_check_after_min_runs(capsys, db_dsn, tiny_model_dir):
    # any 0..3 sample of 10 has s^2 <= 2.5 (and the floor 9/4), so the half-width is <= 0.98 < 1.5
    result = collect(capsys, db_dsn, tiny_model_dir, "--until-ci", "1.5", "--min-runs", "10", "--runs", "40",
                     quiet=False)
    assert result.code == 0, result.err
    summary = json.loads(result.out.strip().splitlines()[-1])
    assert summary["status"] == "completed" and summary["runs_stored"] == 10 and summary["runs_requested"] == 10
    assert summary["stopping_rule"] == "until_ci" and summary["stopped_reason"] == "precision"
    row = session_row(db_dsn, summary["session_id"])
    assert (row["stopping_rule"], row["target_ci_half_width"], row["min_runs"]) == ("until_ci", 1.5, 10)
    assert (row["stopped_reason"], row["status"]) == ("precision", "completed")
    # completed with runs_requested lowered to exactly the runs 1..n it holds
    assert row["runs_requested"] == row["stored"] == row["top"] == 10
    # the progress line shows the half-width the database computed, against the target
    shown = f"half-width {half_width(db_dsn, summary['session_id']):.3f} / 1.5 (n 10)"
    assert shown in result.err, result.err


def test_an_impossible_target_goes_to_the_cap(capsys, db_dsn, tiny_model_dir):
    # the variance floor keeps the half-width >= 10.18 / n, so 0.001 is out of reach at 20 runs
    result = collect(capsys, db_dsn, tiny_model_dir, "--until-ci", "0.001", "--min-runs", "10", "--runs", "20")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["runs_stored"] == summary["runs_requested"] == 20 and summary["stopped_reason"] == "max_runs"
    row = session_row(db_dsn, summary["session_id"])
    assert (row["stopping_rule"], row["stopped_reason"], row["runs_requested"], row["stored"]) == \
        ("until_ci", "max_runs", 20, 20)
    assert half_width(db_dsn, summary["session_id"]) > 0.001
    # runs_requested stays fixed otherwise: not even the owner lowers it on a completed session
    with psycopg.connect(db_dsn, autocommit=True) as conn, pytest.raises(psycopg.errors.CheckViolation,
                                                                         match="is fixed"):
        conn.execute("update raw.probe_sessions set runs_requested = 10 where session_id = %s",
                     (summary["session_id"],))


def test_a_fixed_session_records_the_fixed_rule(capsys, db_dsn, tiny_model_dir):
    result = collect(capsys, db_dsn, tiny_model_dir, "--runs", "3")
    assert result.code == 0, result.err
    row = session_row(db_dsn, json.loads(result.out)["session_id"])
    assert (row["stopping_rule"], row["target_ci_half_width"], row["min_runs"], row["stopped_reason"]) == \
        ("fixed", None, None, None)


def test_resume_keeps_the_rule(capsys, db_dsn, tiny_model_dir):
    first = collect(capsys, db_dsn, tiny_model_dir, "--until-ci", "0.001", "--min-runs", "10", "--runs", "30")
    assert first.code == 0, first.err
    sid = json.loads(first.out)["session_id"]
    # as if its collector had died after 5 runs (the owner repairs rows by hand), with a reachable target
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute("delete from raw.variance_probe_runs where session_id = %s and run_number > 5", (sid,))
        conn.execute("update raw.probe_sessions set status = 'interrupted', stopped_reason = null, "
                     "target_ci_half_width = 1.5 where session_id = %s", (sid,))
    resumed = run_cli(capsys, "resume", sid, "--model", str(tiny_model_dir), "--dsn", db_dsn, "--quiet", "--json",
                      "--no-iris")
    assert resumed.code == 0, resumed.err
    # 5 stored < min_runs 10: one batch of 10 (runs 6..15), then the rule holds
    row = session_row(db_dsn, sid)
    assert (row["stopping_rule"], row["stopped_reason"], row["status"]) == ("until_ci", "precision", "completed")
    assert row["runs_requested"] == row["stored"] == row["top"] == 15


@pytest.mark.parametrize("args, message", [
    (["--until-ci", "0"], "--until-ci must be a half-width above 0 and at most 3, got 0.0"),
    (["--until-ci", "-0.05"], "--until-ci must be a half-width above 0 and at most 3, got -0.05"),
    (["--until-ci", "nan"], "--until-ci must be a half-width above 0 and at most 3, got nan"),
    (["--until-ci", "3.5"], "--until-ci must be a half-width above 0 and at most 3, got 3.5"),
    (["--until-ci", "0.05", "--runs", "50"], "--runs 50 is below --min-runs 100"),
    (["--until-ci", "0.05", "--min-runs", "1"], "--min-runs must be between 2 and"),
    (["--min-runs", "10"], "--min-runs applies only with --until-ci"),
], ids=["zero", "negative", "nan", "above 3", "cap below min-runs", "min-runs 1", "min-runs alone"])
def test_bad_values_are_refused_in_one_line(capsys, db_dsn, tiny_model_dir, args, message):
    before = table_counts(db_dsn)
    result = run_cli(capsys, "Wille", "--model", str(tiny_model_dir), "--dsn", db_dsn, "--no-iris", *args)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.err
    assert table_counts(db_dsn) == before
