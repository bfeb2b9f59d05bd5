"""A collector killed with SIGKILL: committed batches survive, the session shows as stale, and
`resume` runs exactly the missing runs, giving the rows an uninterrupted session would have."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

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
