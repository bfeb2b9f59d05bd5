"""A real PostgreSQL restart in the middle of a session: nothing is lost."""

from __future__ import annotations

import errno
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

from collector.db.embedded import EmbeddedPostgres
from collector.db.store import Store
from tests.cli_helpers import query, run_cli
from tests.modes import open_to_others, usual_umask

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


def start_collecting(dsn, model_dir, runs, *extra, env=None):
    return subprocess.Popen([str(EXE), "Pflicht", "--runs", str(runs), "--batch-size", "8", "--seed", "3",
                             "--max-new-tokens", "4", "--model", str(model_dir), "--dsn", dsn, "--quiet", "--json",
                             "--no-iris", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


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


# --- an outage meets other faults ------------------------------------------------------------------


def journal_of(sid: str, home: Path | None = None) -> Path:
    return (home or Path(os.environ["NYX_HOME"])) / "journal" / f"{sid}.jsonl"


def wait_for(predicate, timeout=120, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def session_id_of(dsn: str) -> str:
    return str(query(dsn, "select session_id from raw.probe_sessions")[0]["session_id"])


def run_numbers(dsn: str) -> list[int]:
    return [r["run_number"] for r in query(dsn, "select run_number from raw.variance_probe_runs order by 1")]


def test_an_outage_is_announced_once_and_its_end_once(own_server, tiny_model_dir):
    server, dsn = own_server
    proc = start_collecting(dsn, tiny_model_dir, 200)
    wait_for_runs(dsn)
    sid = session_id_of(dsn)
    server.stop()
    wait_for(lambda: journal_of(sid).exists(), what="the journal")
    time.sleep(1)  # several batches go to the journal meanwhile
    server.ensure_running()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    journaled = [line for line in err.splitlines() if "finished runs are journaled to" in line]
    loaded = [line for line in err.splitlines() if "journaled run(s) loaded" in line]
    assert len(journaled) == 1 and str(journal_of(sid)) in journaled[0], err
    assert len(loaded) == 1, err
    assert json.loads(out)["runs_stored"] == 200 and run_numbers(dsn) == list(range(1, 201))
    assert not journal_of(sid).exists()


def test_killed_during_an_outage_then_resume_finishes_exactly(own_server, tiny_model_dir, capsys):
    """The README's way: the collector dies while runs wait in the journal; `resume` loads them
    (it does not generate them again: that failed on a duplicate key) and runs the rest."""
    server, dsn = own_server
    with usual_umask():
        proc = start_collecting(dsn, tiny_model_dir, 200)
    wait_for_runs(dsn)
    sid = session_id_of(dsn)
    server.stop()
    journal = journal_of(sid)
    wait_for(lambda: journal.exists() and journal.read_bytes().count(b"\n") >= 16, what="journaled runs")
    proc.kill()
    proc.communicate(timeout=30)
    assert open_to_others(journal.parent) == []  # terms and texts: 0600 in 0700, whatever the umask
    journaled = {json.loads(line)["run_number"] for line in journal.read_text().splitlines() if line.endswith("}")}
    server.ensure_running()
    stored_before = set(run_numbers(dsn))
    assert journaled and not journaled & stored_before
    resumed = run_cli(capsys, "resume", sid, "--model", str(tiny_model_dir), "--dsn", dsn, "--quiet", "--json",
                      "--no-iris")
    assert resumed.code == 0, resumed.err
    summary = json.loads(resumed.out)
    assert summary["status"] == "completed" and summary["runs_stored"] == 200
    assert run_numbers(dsn) == list(range(1, 201))
    assert "from the journal" in resumed.err and not journal.exists()
    again = run_cli(capsys, "resume", sid, "--model", str(tiny_model_dir), "--dsn", dsn, "--no-iris")
    assert again.code == 2 and "nothing to resume" in again.err


def _file_in_place(home: Path) -> None:
    (home / "journal").write_text("not a directory\n")


def _read_only(home: Path) -> None:
    _mount_tmpfs(home, "size=1m,mode=755")
    subprocess.run(["mount", "-o", "remount,ro", str(home)], check=True)


def _full(home: Path) -> None:
    _mount_tmpfs(home, "size=64k,mode=755")
    try:
        with open(home / "filler", "wb") as filler:
            while True:
                filler.write(b"\0" * 4096)
                filler.flush()
    except OSError as exc:
        assert exc.errno == errno.ENOSPC


def _mount_tmpfs(home: Path, options: str) -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a small or read-only file system needs root to mount a tmpfs")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(home)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")


UNWRITABLE_JOURNALS = [("a file where the journal directory goes", _file_in_place), ("a read-only file system",
                       _read_only), ("a full disk", _full)]


@pytest.mark.parametrize("case, spoil", UNWRITABLE_JOURNALS, ids=[c[0] for c in UNWRITABLE_JOURNALS])
def test_an_outage_with_an_unwritable_journal_stops_with_one_line(own_server, tiny_model_dir, capsys, case, spoil):
    server, dsn = own_server
    home = Path(tempfile.mkdtemp(prefix="nyx-home-", dir="/tmp"))
    try:
        spoil(home)
        proc = start_collecting(dsn, tiny_model_dir, 200, env={**os.environ, "NYX_HOME": str(home)})
        wait_for_runs(dsn)
        server.stop()
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 4, err
        assert "Traceback" not in err
        errors = [line for line in err.splitlines() if line.startswith("Error:")]
        assert errors == [err.strip().splitlines()[-1]], err
        assert "cannot be written" in errors[0] and "nyx-collect resume" in errors[0]
        server.ensure_running()
        sid = session_id_of(dsn)
        assert query(dsn, "select status from raw.probe_sessions")[0]["status"] == "running"  # stale: resumable
        resumed = run_cli(capsys, "resume", sid, "--model", str(tiny_model_dir), "--dsn", dsn, "--quiet", "--json",
                          "--no-iris")
        assert resumed.code == 0, resumed.err
        assert json.loads(resumed.out)["runs_stored"] == 200 and run_numbers(dsn) == list(range(1, 201))
    finally:
        subprocess.run(["umount", str(home)], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


# --- replay refuses journal lines a session cannot hold ------------------------------------------


def _journal_cases():
    from tests.integration.test_store import CI, CO, E, make_round, make_run

    def renumbered(run, numbers):
        rounds = [r.model_copy(update={"round": n}) for r, n in zip(run.rounds, numbers)]
        return run.model_copy(update={"rounds": rounds})

    return [
        ("run 121 of 120", lambda s: [make_run(s, 1, [CO]), make_run(s, 121, [E, CI])], 2,
         "line 2: run number 121 is outside 1..120"),
        ("run 0", lambda s: [make_run(s, 0, [CO])], 1, "run number 0 is outside 1..120"),
        ("a negative run number", lambda s: [make_run(s, -7, [CO])], 1, "run number -7 is outside"),
        ("a run without rounds", lambda s: [make_run(s, 5, [CO]).model_copy(update={"rounds": []})], 1,
         "run 5 has no rounds"),
        ("a run whose first round is missing", lambda s: [renumbered(make_run(s, 6, [E, CI]), [2, 3])], 1,
         "run 6 has the rounds [2, 3]"),
        ("a run with a round twice", lambda s: [renumbered(make_run(s, 7, [E, CI]), [1, 1])], 1,
         "run 7 has the rounds [1, 1]"),
        ("a run of four rounds", lambda s: [make_run(s, 8, [E, E, E]).model_copy(
            update={"rounds": make_run(s, 8, [E, E, E]).rounds + [make_round(4, CO)]})], 1, "at most 3"),
        ("a run of another term", lambda s: [make_run(s, 9, [CO]).model_copy(update={"term": "Vernunft"})], 1,
         "run 9 has the term 'Vernunft'"),
    ]  # fmt: skip


JOURNAL_CASES = _journal_cases()


@pytest.mark.parametrize("case, runs, line, fragment", JOURNAL_CASES, ids=[c[0] for c in JOURNAL_CASES])
def test_replay_refuses_a_run_its_session_cannot_hold(capsys, store, db_dsn, tmp_path, case, runs, line, fragment):
    from collector.db.journal import Journal
    from tests.cli_helpers import table_counts
    from tests.integration.test_store import make_session

    session = make_session(runs_requested=120)
    store.create_session(session)
    journal = Journal(tmp_path / "journal.jsonl")
    journal.append(runs(session))
    before = table_counts(db_dsn)
    result = run_cli(capsys, "replay", str(journal.path), "--dsn", db_dsn)
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and f"line {line}:" in lines[0], result.err
    assert fragment in lines[0] and "nothing of the journal was stored" in lines[0]
    assert table_counts(db_dsn) == before


def test_replay_of_a_journal_of_an_unknown_session(capsys, db_dsn, tmp_path):
    from collector.db.journal import Journal
    from tests.integration.test_store import CO, make_run, make_session

    journal = Journal(tmp_path / "journal.jsonl")
    journal.append([make_run(make_session(), 1, [CO])])
    result = run_cli(capsys, "replay", str(journal.path), "--dsn", db_dsn)
    assert result.code == 5 and result.err.startswith("Error: journal") and result.err.count("\n") == 1


def test_a_journal_is_its_owners_alone(tmp_path, monkeypatch):
    """A journal holds terms and texts: 0600 in a 0700 directory under the usual umask, and one an
    older nyx left open (0644 in 0755) is closed by the next append."""
    from collector.db.journal import Journal
    from collector.core.paths import data_dir_mode
    from tests.integration.test_store import CO, make_run, make_session

    home = tmp_path / "home"
    monkeypatch.setenv("NYX_HOME", str(home))
    session = make_session()
    journal = Journal.for_session(session.session_id)
    with usual_umask():
        journal.append([make_run(session, 1, [CO])])
        assert journal.path.parent == home / "journal" and open_to_others(home) == []
        assert (home.stat().st_mode & 0o777) == data_dir_mode()
        os.chmod(journal.path.parent, 0o755)
        os.chmod(journal.path, 0o644)
        journal.append([make_run(session, 2, [CO])])
    assert open_to_others(home) == []
    assert [r.run_number for r in journal.read()] == [1, 2]


def test_a_failed_journal_append_leaves_the_journal_as_it_was(tmp_path):
    """A write cut short (here by a file-size limit, as a full disk would) is undone, so a journal
    never holds half a line in the middle, which would make it unreadable."""
    import resource
    import signal

    from collector.db.journal import Journal
    from tests.integration.test_store import CO, make_run, make_session

    session = make_session()
    journal = Journal(tmp_path / "j" / "journal.jsonl")
    journal.append([make_run(session, 1, [CO])])
    size = journal.path.stat().st_size
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 100, hard))  # room for part of one more run
    try:
        with pytest.raises(OSError):
            journal.append([make_run(session, n, [CO]) for n in range(2, 50)])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert journal.path.stat().st_size == size
    journal.append([make_run(session, 2, [CO])])
    assert [r.run_number for r in journal.read()] == [1, 2]


def test_queue_workers_journal_through_a_server_restart_and_the_session_completes(own_server, tiny_model_dir, capsys):
    import signal

    server, dsn = own_server
    result = run_cli(capsys, "submit", "Pflicht", "--runs", "600", "--shard-size", "100", "--batch-size", "8",
                     "--seed", "3", "--max-new-tokens", "4", "--judge", "rules-1", "--model", str(tiny_model_dir),
                     "--device", "cpu", "--dsn", dsn, "--json")
    assert result.code == 0, result.err
    session_id = json.loads(result.out)["session_id"]
    env = {**os.environ, "NYX_QUEUE_TIMING": "1,3,1"}
    workers = [subprocess.Popen([str(EXE), "worker", "--dsn", dsn, "--device", "cpu", "--no-iris", "--refresh-every",
                                 "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
               for _ in range(2)]
    try:
        wait_for_runs(dsn, at_least=16)
        assert server.stop()
        time.sleep(4)  # the workers keep generating and journal what they finish
        assert all(w.poll() is None for w in workers), [w.communicate()[1] for w in workers if w.poll() is not None]
        server.ensure_running()
        deadline = time.monotonic() + 300
        while query(dsn, "select status from raw.probe_sessions")[0]["status"] != "completed":
            assert time.monotonic() < deadline, "the session did not complete"
            time.sleep(0.5)
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        errs = [w.communicate(timeout=120)[1] for w in workers]
        print(*errs, sep="\n---\n")
    assert [w.returncode for w in workers] == [0, 0], errs
    print(*errs, sep="\n---\n")
    assert "journaled" in "".join(errs)  # the shards in hand went on into their journals
    assert "Traceback" not in "".join(errs)  # procrastinate's complaints are one line each
    # procrastinate's worker stopped when its listener lost the server; ours started it again for the next shards
    assert "starting again" in "".join(errs)
    numbers = [r["run_number"] for r in query(dsn, "select run_number from raw.variance_probe_runs "
                                                   "where session_id = %s order by 1", (session_id,))]
    assert numbers == list(range(1, 601))
    leftovers = list((Path(os.environ["NYX_HOME"]) / "journal").glob(f"{session_id}*"))
    assert leftovers == []  # every journal was loaded and removed
