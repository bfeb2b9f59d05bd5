"""Sessions without runs in the marts: a real collector that has not committed its first batch
(still generating it, or killed or interrupted before it committed) leaves a session row with 0
runs, and `dbt build` and `nyx-collect refresh` must build every model beside it, with the
session's statistics NULL in the per-session marts and no row for it in the pooled ones
(docs/statistics.md, "Sessions without runs")."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.cli_helpers import query, run_cli
from tests.conftest_dbt import insert_synthetic_session
from tests.dbt_helpers import run_dbt, run_refresh

EXE = Path(sys.executable).with_name("nyx-collect")
TERM = "Dasein"
# one batch of 64 runs: nothing is committed until all 64 are generated and judged
ARGS = ["--runs", "64", "--batch-size", "64", "--seed", "11", "--quiet", "--json", "--no-iris"]
# the per-session statistics that need at least one run (two for the variance and the intervals)
NULL_WITHOUT_RUNS = (
    *(f"share_depth_{d}{part}" for d in range(4) for part in ("", "_ci95_low", "_ci95_high")),
    "depth_mean", "depth_median", "depth_variance", "depth_stddev", "depth_ci95_low", "depth_ci95_high",
    "depth_entropy_bits", "share_expands", "most_common_echo_type", "chain_length_mean", "chain_length_stddev",
    "rounds_mean",
)
POOLED_MARTS = ("term_depth_distribution", "term_power", "chain_patterns", "echo_type_by_round",
                "echo_type_transitions")


def start_collector(dsn: str, model_dir: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([str(EXE), TERM, *ARGS, "--model", str(model_dir), "--dsn", dsn, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_session(dsn: str, proc: subprocess.Popen, timeout: float = 300) -> str:
    """The id of the collector's session, as soon as its row is in the database."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = query(dsn, "select session_id from raw.probe_sessions where term = %s and model_name <> %s",
                     (TERM, "synthetic-model"))
        if rows:
            return str(rows[0]["session_id"])
        if proc.poll() is not None:
            pytest.fail(f"the collector exited ({proc.returncode}) before creating its session: {proc.stderr.read()}")
        time.sleep(0.02)
    pytest.fail("the collector created no session")


def runs_of(dsn: str, session_id: str) -> int:
    return query(dsn, "select count(*) as n from raw.variance_probe_runs where session_id = %s",
                 (session_id,))[0]["n"]


def assert_empty_session_in_marts(dsn: str, session_id: str) -> None:
    """Zero counts and NULL statistics where the mart has a row per session; no row where it pools."""
    (row,) = query(dsn, "select * from marts.session_stats where session_id = %s", (session_id,))
    assert row["runs_stored"] == 0 and row["rounds_total"] == 0 and not row["is_complete"]
    assert [row[f"depth_{d}"] for d in range(4)] == [0, 0, 0, 0]
    assert {c: row[c] for c in NULL_WITHOUT_RUNS if row[c] is not None} == {}
    (compared,) = query(dsn, "select * from marts.session_comparison where session_id = %s", (session_id,))
    assert compared["runs"] == 0 and not compared["is_baseline"]
    assert all(compared[c] is None for c in ("depth_mean", "depth_mean_diff", "depth_mean_p", "js_divergence",
                                              "depth_distribution_p", "depth_distribution_p_holm"))
    (listed,) = query(dsn, "select * from grafana.sessions where session_id = %s", (session_id,))
    assert listed["runs_stored"] == 0 and listed["depth_mean"] is None
    for mart in POOLED_MARTS:
        rows = query(dsn, f"select count(*) as n from marts.{mart} where pool_key = %s", (row["pool_key"],))
        assert rows[0]["n"] == 0, mart
    judged = query(dsn, "select count(*) as n from marts.session_judgements where session_id = %s", (session_id,))
    assert judged[0]["n"] == 0


def test_build_beside_a_collector_before_its_first_commit_then_refresh_after_sigkill(db_dsn, tiny_model_dir,
                                                                                    tmp_path, capsys):
    # a pool with runs of the same term, so the marts hold both kinds of session
    insert_synthetic_session(db_dsn, TERM, "synthetic-model", 0.8, 12)
    with psycopg.connect(db_dsn) as gate:
        # the collector creates its session, then waits at its first commit for as long as this
        # transaction holds the runs table: a collector still generating its first batch, held still
        gate.execute("lock table raw.variance_probe_runs in exclusive mode")
        proc = start_collector(db_dsn, tiny_model_dir)
        try:
            session_id = wait_for_session(db_dsn, proc)
            build = run_dbt(db_dsn, "build", workdir=tmp_path / "build")  # models, data and unit tests
            assert build.returncode == 0, build.stdout[-6000:] + build.stderr[-2000:]
            assert proc.poll() is None and runs_of(db_dsn, session_id) == 0
            assert_empty_session_in_marts(db_dsn, session_id)
        finally:
            proc.send_signal(signal.SIGKILL)  # kill -9 before its first batch commits
            proc.communicate(timeout=60)
        gate.rollback()
    (session,) = query(db_dsn, "select status from raw.probe_sessions where session_id = %s", (session_id,))
    assert session["status"] == "running" and runs_of(db_dsn, session_id) == 0  # stale, as kill -9 leaves it

    done = run_refresh(db_dsn, tmp_path / "refresh")
    assert done.returncode == 0, done.stdout + done.stderr
    assert_empty_session_in_marts(db_dsn, session_id)
    shown = run_cli(capsys, "stats", session_id, "--dsn", db_dsn)
    assert shown.code == 0 and "runs 0 of 64" in shown.out, shown.err
    as_json = run_cli(capsys, "stats", session_id, "--dsn", db_dsn, "--json")
    assert as_json.code == 0, as_json.err
    stats = json.loads(as_json.out)
    assert stats["runs_stored"] == 0 and stats["share_depth_0_ci95_low"] is None


def test_ctrl_c_before_the_first_batch_commits_then_build(db_dsn, tiny_model_dir, tmp_path):
    # long completions make the first batch take seconds, so Ctrl-C lands before it is committed
    proc = start_collector(db_dsn, tiny_model_dir, "--max-new-tokens", "64")
    session_id = wait_for_session(db_dsn, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    (session,) = query(db_dsn, "select status from raw.probe_sessions where session_id = %s", (session_id,))
    assert session["status"] == "interrupted", err
    assert runs_of(db_dsn, session_id) == 0, "the first batch was committed before Ctrl-C: make it longer"

    build = run_dbt(db_dsn, "build", workdir=tmp_path)
    assert build.returncode == 0, build.stdout[-6000:] + build.stderr[-2000:]
    assert_empty_session_in_marts(db_dsn, session_id)
    (row,) = query(db_dsn, "select duration_s, runs_per_second from marts.session_stats where session_id = %s",
                   (session_id,))
    assert row["duration_s"] >= 0 and row["runs_per_second"] in (0.0, None)  # None: stopped in the same instant
