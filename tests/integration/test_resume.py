"""A collector killed with SIGKILL: committed batches survive, the session shows as stale, and
`resume` runs exactly the missing runs, giving the rows an uninterrupted session would have."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from tests.cli_helpers import query, run_cli

ARGS = ["--runs", "400", "--batch-size", "8", "--seed", "9", "--max-new-tokens", "4", "--quiet", "--no-iris"]


def runs_of(dsn, sid):
    return query(dsn, "select run_number, seed, depth, rounds, echo_types, chain from raw.variance_probe_runs "
                      "where session_id = %s order by run_number", (sid,))


def test_sigkill_then_resume_gives_the_uninterrupted_rows(capsys, db_dsn, tiny_model_dir):
    model = ["--model", str(tiny_model_dir), "--dsn", db_dsn]
    exe = os.path.join(os.path.dirname(sys.executable), "nyx-collect")
    proc = subprocess.Popen([exe, "Erkenntnis", *ARGS, *model], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if query(db_dsn, "select count(*) as n from raw.variance_probe_runs")[0]["n"] > 0:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    session = query(db_dsn, "select session_id, status from raw.probe_sessions")[0]
    sid = str(session["session_id"])
    kept = runs_of(db_dsn, sid)
    assert session["status"] == "running" and 0 < len(kept) < 400, "kill the collector mid-session"
    listed = run_cli(capsys, "sessions", "--json", "--dsn", db_dsn)
    assert json.loads(listed.out.splitlines()[0])["state"] == "stale"

    resumed = run_cli(capsys, "resume", sid[:8], *model[:2], "--dsn", db_dsn, "--quiet", "--json", "--no-iris")
    assert resumed.code == 0, resumed.err
    summary = json.loads(resumed.out)
    assert summary["status"] == "completed" and summary["runs_stored"] == 400
    after = {r["run_number"]: r for r in runs_of(db_dsn, sid)}
    assert all(after[r["run_number"]] == r for r in kept)  # what was committed before the kill is untouched

    reference = run_cli(capsys, "Erkenntnis", *ARGS, *model, "--json")
    assert reference.code == 0, reference.err
    assert runs_of(db_dsn, sid) == runs_of(db_dsn, json.loads(reference.out)["session_id"])

    again = run_cli(capsys, "resume", sid, *model[:2], "--dsn", db_dsn, "--no-iris")
    assert again.code == 2 and "nothing to resume" in again.err


def test_resume_refuses_a_session_whose_collector_still_runs(capsys, db_dsn, tiny_model_dir):
    created = run_cli(capsys, "Wille", "--runs", "2", "--max-new-tokens", "2", "--model", str(tiny_model_dir),
                      "--dsn", db_dsn, "--quiet", "--json", "--no-iris")
    sid = json.loads(created.out)["session_id"]
    # pretend this very process is still collecting it
    with __import__("psycopg").connect(db_dsn) as conn:
        conn.execute("update raw.probe_sessions set status = 'running', finished_at = null, pid = %s, "
                     "hostname = %s where session_id = %s", (os.getpid(), os.uname().nodename, sid))
    result = run_cli(capsys, "resume", sid, "--model", str(tiny_model_dir), "--dsn", db_dsn, "--no-iris")
    assert result.code == 2 and "is running" in result.err and "--force" in result.err


ROUND_COLUMNS = ("run_number, round, prompt, completion, echo_type, tokens_generated, finish_reason, n_words, "
                 "distinct_ratio, nonletter_ratio, content_words, new_stems, novelty, sim_term, sim_prev, sim_ref")


def rounds_of(dsn, sid):
    return query(dsn, f"select {ROUND_COLUMNS} from raw.probe_rounds where session_id = %s order by 1, 2", (sid,))


@pytest.mark.parametrize("judge", ["ref-3", "ref-2", "rules-1"])
def test_a_resumed_session_equals_an_uninterrupted_one_round_for_round(capsys, db_dsn, tiny_model_dir, judge):
    """Two runs in three go missing, so resume runs the rest in batches the uninterrupted session
    never had: every stored value of every round must still be the same, in the default dtype (on
    CPU float32: bfloat16 made rows depend on their batch neighbours). rules-1's similarities
    differed in the eighth decimal with the batch's padded width; and resume took --dtype auto, not
    the session's own dtype."""
    args = ["Wille", "--runs", "48", "--batch-size", "8", "--seed", "11", "--max-new-tokens", "6", "--judge", judge,
            "--model", str(tiny_model_dir), "--dsn", db_dsn, "--quiet", "--json", "--no-iris"]
    first = run_cli(capsys, *args)
    second = run_cli(capsys, *args)
    assert first.code == second.code == 0, first.err + second.err
    a, b = json.loads(first.out)["session_id"], json.loads(second.out)["session_id"]
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute("delete from raw.variance_probe_runs where session_id = %s and run_number %% 3 <> 0", (b,))
        conn.execute("update raw.probe_sessions set status = 'interrupted', finished_at = now() "
                     "where session_id = %s", (b,))
    resumed = run_cli(capsys, "resume", b, "--model", str(tiny_model_dir), "--dsn", db_dsn, "--quiet", "--json",
                      "--no-iris")
    assert resumed.code == 0, resumed.err
    assert json.loads(resumed.out)["runs_stored"] == 48
    assert runs_of(db_dsn, b) == runs_of(db_dsn, a)
    assert rounds_of(db_dsn, b) == rounds_of(db_dsn, a)
    dtypes = query(db_dsn, "select distinct dtype from raw.probe_sessions where session_id in (%s, %s)", (a, b))
    assert dtypes == [{"dtype": "float32"}]  # what the default resolved to, recorded with the session


def test_resume_force_beside_the_collector_that_still_runs(capsys, db_dsn, tiny_model_dir):
    """Both collectors write the same runs; neither fails on the other's, and the session ends
    completed with exactly its runs (a late failure must not mark a completed session failed)."""
    exe = os.path.join(os.path.dirname(sys.executable), "nyx-collect")
    args = ["Vernunft", "--runs", "96", "--batch-size", "8", "--seed", "4", "--max-new-tokens", "4", "--dtype",
            "float32", "--quiet", "--json", "--no-iris", "--model", str(tiny_model_dir), "--dsn", db_dsn]
    proc = subprocess.Popen([exe, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not query(db_dsn, "select 1 from raw.variance_probe_runs limit 1"):
        time.sleep(0.05)
    sid = str(query(db_dsn, "select session_id from raw.probe_sessions")[0]["session_id"])
    resumed = run_cli(capsys, "resume", sid, "--force", "--model", str(tiny_model_dir), "--dsn", db_dsn, "--quiet",
                      "--json", "--no-iris")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert resumed.code == 0, resumed.err
    assert json.loads(out)["status"] == json.loads(resumed.out)["status"] == "completed"
    numbers = [r["run_number"] for r in query(db_dsn, "select run_number from raw.variance_probe_runs "
                                                      "where session_id = %s order by 1", (sid,))]
    assert numbers == list(range(1, 97))
    assert query(db_dsn, "select status from raw.probe_sessions")[0]["status"] == "completed"


def test_a_completed_session_stays_completed(store):
    from collector.core.records import SessionStatus
    from tests.integration.test_store import make_session

    session = make_session()
    store.create_session(session)
    assert store.finish_session(session.session_id, SessionStatus.COMPLETED)
    for status in (SessionStatus.FAILED, SessionStatus.INTERRUPTED):
        assert not store.finish_session(session.session_id, status, error="a second collector failed")
    row = store.get_session(session.session_id)
    assert row["status"] == "completed" and row["error"] is None


@pytest.mark.parametrize("signals, gap_s", [(2, 0.0), (2, 0.02), (5, 0.01), (30, 0.01)],
                         ids=["twice at once", "twice 20 ms apart", "five times", "thirty times"])
def test_repeated_sigterm_stops_once_without_a_traceback(db_dsn, tiny_model_dir, signals, gap_s):
    exe = os.path.join(os.path.dirname(sys.executable), "nyx-collect")
    proc = subprocess.Popen([exe, "Pflicht", "--runs", "100000", "--batch-size", "8", "--model", str(tiny_model_dir),
                             "--dsn", db_dsn, "--max-new-tokens", "4", "--quiet", "--no-iris"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not query(db_dsn, "select 1 from raw.variance_probe_runs limit 1"):
        time.sleep(0.05)
    for _ in range(signals):
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGTERM)
        time.sleep(gap_s)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert [line for line in err.splitlines() if line.startswith("Error:")] == [err.strip().splitlines()[-1]]
    assert "is marked interrupted" in err
    assert query(db_dsn, "select status from raw.probe_sessions")[0]["status"] == "interrupted"
