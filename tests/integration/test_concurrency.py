"""Two collectors writing different sessions to one database at the same time; two rejudges sharing the sessions."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg

from collector.judge.registry import DEFAULT_JUDGE
from tests.cli_helpers import query

EXE = Path(sys.executable).with_name("nyx-collect")


def test_two_collectors_at_once_do_not_interfere(db_dsn, tiny_model_dir):
    procs = {
        term: subprocess.Popen([str(EXE), term, "--runs", "300", "--batch-size", "8", "--seed", "5",
                                "--max-new-tokens", "4", "--model", str(tiny_model_dir), "--dsn", db_dsn,
                                "--quiet", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for term in ("Vernunft", "Wille")
    }
    summaries = {}
    for term, proc in procs.items():
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err
        summaries[term] = json.loads(out)
    assert summaries["Vernunft"]["session_id"] != summaries["Wille"]["session_id"]
    for term, summary in summaries.items():
        assert summary["status"] == "completed" and summary["runs_stored"] == 300
        rows = query(db_dsn, "select term, run_number from raw.variance_probe_runs where session_id = %s "
                             "order by run_number", (summary["session_id"],))
        assert [r["run_number"] for r in rows] == list(range(1, 301))
        assert {r["term"] for r in rows} == {term}
    # both sessions used --seed 5, and a run's seed derives from (session seed, run number) only
    seeds = query(db_dsn, "select count(distinct seed) as n from raw.variance_probe_runs")[0]["n"]
    assert seeds == 300


# --- two rejudges at once (issue 20): they share the sessions, neither fails ---------------------


def _collect_champions(capsys, dsn, model_dir) -> list[str]:
    """The six champion terms, one session each, judged at collection by rules-1 (so the default
    judge can re-judge them); their session ids."""
    from tests.cli_helpers import run_cli

    result = run_cli(capsys, "--champions", "--runs", "6", "--max-new-tokens", "4", "--seed", "2", "--judge",
                     "rules-1", "--model", str(model_dir), "--dsn", dsn, "--quiet", "--json", "--no-iris")
    assert result.code == 0, result.err
    return [json.loads(line)["session_id"] for line in result.out.splitlines()]


def _judged(dsn: str) -> dict[str, int]:
    """session id -> rounds judged by the default judge, from raw.round_judgements."""
    rows = query(dsn, "select session_id::text as sid, count(*) as n from raw.round_judgements "
                      "where judge_version = %s group by session_id", (DEFAULT_JUDGE,))
    return {r["sid"]: r["n"] for r in rows}


def test_a_session_another_process_is_judging_is_skipped_and_the_rest_judged(capsys, db_dsn, tiny_model_dir):
    from collector.db.store import Store
    from tests.cli_helpers import run_cli

    sids = _collect_champions(capsys, db_dsn, tiny_model_dir)
    with Store.connect(db_dsn) as other, other.rejudge_lock(uuid.UUID(sids[0]), DEFAULT_JUDGE) as held:
        assert held  # this connection stands for a process judging the first session
        result = run_cli(capsys, "rejudge", "--all", "--json", "--dsn", db_dsn)
        assert result.code == 0, result.err
        assert sorted(json.loads(line)["session_id"] for line in result.out.splitlines()) == sorted(sids[1:])
        assert f"skipped 1 session(s) being judged by {DEFAULT_JUDGE} in another process" in result.err
    assert set(_judged(db_dsn)) == set(sids[1:])
    after = run_cli(capsys, "rejudge", "--all", "--json", "--dsn", db_dsn)  # the lock is gone: the last one
    assert after.code == 0 and [json.loads(line)["session_id"] for line in after.out.splitlines()] == [sids[0]]
    assert "skipped" not in after.err


def test_two_rejudge_all_at_once_share_the_sessions(capsys, db_dsn, tiny_model_dir):
    sids = _collect_champions(capsys, db_dsn, tiny_model_dir)
    rounds = {r["sid"]: r["n"] for r in query(db_dsn, "select session_id::text as sid, count(*) as n "
                                                      "from raw.probe_rounds group by session_id")}
    # hold both at the listing (it reads raw.session_judgements), so both list every session and then
    # set off together: without the per-session lock the slower one failed on the first session
    with psycopg.connect(db_dsn) as gate:
        gate.execute("lock table raw.session_judgements in access exclusive mode")
        procs = [subprocess.Popen([str(EXE), "rejudge", "--all", "--json", "--dsn", db_dsn], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        deadline = time.monotonic() + 300
        while _waiting(db_dsn) < 2 and time.monotonic() < deadline and all(p.poll() is None for p in procs):
            time.sleep(0.2)
        gathered = _waiting(db_dsn) == 2
    judged: list[str] = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        judged += [json.loads(line)["session_id"] for line in out.splitlines()]
    assert gathered, "the two rejudges never both waited at the listing"
    assert sorted(judged) == sorted(sids)  # each session judged once, by one of the two
    assert _judged(db_dsn) == rounds
    assert len(query(db_dsn, "select * from raw.session_judgements")) == len(sids)


def _waiting(dsn: str) -> int:
    """Connections of the collector waiting for a table lock in this database."""
    rows = query(dsn, "select count(*) as n from pg_stat_activity where datname = current_database() "
                      "and application_name = 'nyx-collector' and wait_event_type = 'Lock' "
                      "and wait_event = 'relation'")
    return rows[0]["n"]
