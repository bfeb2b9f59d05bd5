"""Two collectors writing different sessions to one database at the same time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
