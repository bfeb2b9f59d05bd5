"""A real PostgreSQL restart in the middle of a session: nothing is lost."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from collector.db.embedded_pg import EmbeddedPostgres
from collector.db.store import Store
from tests.cli_helpers import query, run_cli

EXE = Path(sys.executable).with_name("nyx-collect")


@pytest.fixture
def own_server():
    """A PostgreSQL server of this test's own, which it may stop and start."""
    base = Path(tempfile.mkdtemp(prefix="nyx-outage-", dir="/tmp"))
    os.chmod(base, 0o755)
    server = EmbeddedPostgres(base / "data")
    dsn = server.ensure_running()
    with Store.connect(dsn) as store:
        store.migrate()
    try:
        yield server, dsn
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def start_collecting(dsn, model_dir, runs, *extra):
    return subprocess.Popen([str(EXE), "Pflicht", "--runs", str(runs), "--batch-size", "8", "--seed", "3",
                             "--max-new-tokens", "4", "--model", str(model_dir), "--dsn", dsn, "--quiet", "--json",
                             "--no-iris", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_runs(dsn, at_least=1, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = query(dsn, "select count(*) as n from raw.variance_probe_runs")[0]["n"]
        if n >= at_least:
            return n
        time.sleep(0.05)
    pytest.fail("the collector stored nothing")


def test_server_restart_mid_session_loses_nothing(own_server, tiny_model_dir):
    server, dsn = own_server
    proc = start_collecting(dsn, tiny_model_dir, 1500)
    wait_for_runs(dsn)
    assert server.stop()
    time.sleep(4)  # the collector keeps generating and journals what it finishes
    assert proc.poll() is None, proc.communicate()[1]
    server.ensure_running()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["runs_stored"] == 1500 and summary["status"] == "completed"
    numbers = [r["run_number"] for r in query(dsn, "select run_number from raw.variance_probe_runs order by 1")]
    assert numbers == list(range(1, 1501))


def test_long_outage_stops_with_the_journal_and_replay_loads_it(own_server, tiny_model_dir, capsys):
    server, dsn = own_server
    proc = start_collecting(dsn, tiny_model_dir, 1500, "--outage-limit", "3")
    before = wait_for_runs(dsn)
    server.stop()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 4, err
    line = err.strip().splitlines()[-1]
    assert line.startswith("Error: the database has been unreachable") and "nyx-collect replay" in line
    journal = re.search(r"safe in (\S+\.jsonl)", line).group(1)
    assert Path(journal).stat().st_size > 0
    server.ensure_running()
    first = run_cli(capsys, "replay", journal, "--dsn", dsn)
    assert first.code == 0, first.err
    replayed = int(first.out.split()[1])
    assert replayed > 0
    after = query(dsn, "select count(*) as n from raw.variance_probe_runs")[0]["n"]
    assert after == before + replayed or after >= before + replayed
    again = run_cli(capsys, "replay", journal, "--dsn", dsn)
    assert again.code == 0 and again.out.startswith("replayed 0 run(s)")
    sid = query(dsn, "select session_id from raw.probe_sessions")[0]["session_id"]
    resumed = run_cli(capsys, "resume", str(sid), "--model", str(tiny_model_dir), "--dsn", dsn, "--quiet",
                      "--json", "--no-iris")
    assert resumed.code == 0, resumed.err
    assert json.loads(resumed.out)["runs_stored"] == 1500
