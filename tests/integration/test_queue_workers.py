"""The work queue with real worker processes (nyx-collect worker), the tiny model on CPU in float32,
and the real PostgreSQL: shards are spread, killed and stopped workers' shards are retried, and a
sharded session stores exactly what one collector stores."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli_helpers import assert_clean, query, run_cli

EXE = Path(sys.executable).with_name("nyx-collect")
TIMING = "1,3,1"  # heartbeat every 1 s, stalled after 3 s, looked for every 1 s
GEN = ("--max-new-tokens", "4", "--max-rounds", "3")


def start_worker(dsn: str, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "NYX_QUEUE_TIMING": TIMING}
    return subprocess.Popen([str(EXE), "worker", "--dsn", dsn, "--device", "cpu", "--no-iris", "--refresh-every", "0",
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for(predicate, timeout: float, what: str, procs=()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        for proc in procs:
            if proc.poll() is not None:
                raise AssertionError(f"a worker exited early ({proc.returncode}): {proc.stderr.read()}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def stop(procs, timeout: float = 120) -> list[str]:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    errs = []
    for proc in procs:
        _out, err = proc.communicate(timeout=timeout)
        errs.append(err)
        assert proc.returncode in (0, -9), err
    return errs


def registered_workers(dsn: str) -> int:
    return query(dsn, "select count(*) as n from public.procrastinate_workers")[0]["n"]


def runs_of(dsn: str, session_id: str) -> list[dict]:
    return query(dsn, "select run_number, seed, depth, chain from raw.variance_probe_runs where session_id = %s "
                      "order by run_number", (session_id,))


def rounds_of(dsn: str, session_id: str) -> list[tuple]:
    rows = query(dsn, "select run_number, round, completion, echo_type from raw.probe_rounds where session_id = %s "
                      "order by 1, 2", (session_id,))
    return [(r["run_number"], r["round"], r["completion"], r["echo_type"]) for r in rows]


def status_of(dsn: str, session_id: str) -> str:
    return query(dsn, "select status from raw.probe_sessions where session_id = %s", (session_id,))[0]["status"]


def submit(capsys, dsn: str, model: Path, *args: str) -> list[dict]:
    result = run_cli(capsys, "submit", *args, "--model", str(model), "--dsn", dsn, "--device", "cpu", *GEN, "--json")
    assert_clean(result)
    return [json.loads(line) for line in result.out.splitlines()]


def test_three_workers_collect_two_terms_as_one_collector_would(db_dsn, tiny_model_dir, capsys):
    started = time.monotonic()
    workers = [start_worker(db_dsn) for _ in range(3)]
    try:
        wait_for(lambda: registered_workers(db_dsn) == 3, 120, "three registered workers", workers)
        submitted = submit(capsys, db_dsn, tiny_model_dir, "Vernunft", "Wille", "--runs", "60", "--shard-size", "20",
                           "--batch-size", "8", "--seed", "11")
        assert [(s["term"], s["runs"], s["shards"]) for s in submitted] == [("Vernunft", 60, 3), ("Wille", 60, 3)]
        ids = [s["session_id"] for s in submitted]
        wait_for(lambda: all(status_of(db_dsn, i) == "completed" for i in ids), 600, "both sessions", workers)
        print(f"collected in {time.monotonic() - started:.1f} s")
    finally:
        errs = stop(workers)
    assert all(p.returncode == 0 for p in workers), errs
    assert all("Traceback" not in e for e in errs), errs
    loads = [int(m) for e in errs for m in re.findall(r"job\(s\), (\d+) model load", e)]
    assert len(loads) == 3 and max(loads) == 1, errs  # each worker loaded the model once for all its jobs
    for session_id in ids:
        assert [r["run_number"] for r in runs_of(db_dsn, session_id)] == list(range(1, 61))
    jobs = query(db_dsn, "select status::text as status, count(*) as n from public.procrastinate_jobs "
                         "where task_name = 'nyx.collect_shard' group by 1")
    assert jobs == [{"status": "succeeded", "n": 6}]
    assert query(db_dsn, "select count(*) as n from raw.queue_workers")[0]["n"] >= 2  # the shards were spread

    # one collector, same seed and settings: the same runs, round for round
    single = run_cli(capsys, "Vernunft", "--runs", "60", "--seed", "11", "--batch-size", "16", *GEN, "--model",
                     str(tiny_model_dir), "--dsn", db_dsn, "--device", "cpu", "--no-iris", "--quiet", "--json")
    assert_clean(single)
    print(f"with the single collection: {time.monotonic() - started:.1f} s")
    alone = json.loads(single.out)["session_id"]
    assert runs_of(db_dsn, alone) == runs_of(db_dsn, ids[0])
    assert rounds_of(db_dsn, alone) == rounds_of(db_dsn, ids[0]) and len(rounds_of(db_dsn, alone)) == 180
    assert runs_of(db_dsn, ids[0]) != runs_of(db_dsn, ids[1])  # the comparison can tell two sessions apart


def _one_long_shard(capsys, dsn: str, model: Path) -> str:
    [submitted] = submit(capsys, dsn, model, "Dasein", "--runs", "48", "--shard-size", "48", "--batch-size", "4",
                         "--seed", "5", "--max-new-tokens", "24", "--judge", "rules-1")
    return submitted["session_id"]


def stored(dsn: str, session_id: str) -> int:
    return len(runs_of(dsn, session_id))


def test_a_killed_worker_s_shard_is_retried_by_another_and_completes_once(db_dsn, tiny_model_dir, capsys):
    first = start_worker(db_dsn)
    second = None
    try:
        wait_for(lambda: registered_workers(db_dsn) == 1, 120, "the first worker", [first])
        session_id = _one_long_shard(capsys, db_dsn, tiny_model_dir)
        wait_for(lambda: stored(db_dsn, session_id) >= 4, 300, "some runs", [first])
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        kept = stored(db_dsn, session_id)
        assert 4 <= kept < 48
        second = start_worker(db_dsn)
        wait_for(lambda: status_of(db_dsn, session_id) == "completed", 600, "the session", [second])
    finally:
        stop([p for p in (first, second) if p is not None])
    assert [r["run_number"] for r in runs_of(db_dsn, session_id)] == list(range(1, 49))
    events = query(db_dsn, "select e.type::text as type from public.procrastinate_events as e "
                           "join public.procrastinate_jobs as j on j.id = e.job_id "
                           "where j.args ->> 'session_id' = %s order by e.id", (session_id,))
    assert [e["type"] for e in events].count("started") == 2  # the stalled job ran again, on the second worker
    assert query(db_dsn, "select status::text as status from public.procrastinate_jobs "
                         "where args ->> 'session_id' = %s", (session_id,)) == [{"status": "succeeded"}]


def test_sigterm_stops_a_worker_after_its_batch_and_the_shard_goes_back_to_the_queue(db_dsn, tiny_model_dir, capsys):
    worker = start_worker(db_dsn)
    try:
        wait_for(lambda: registered_workers(db_dsn) == 1, 120, "the worker", [worker])
        session_id = _one_long_shard(capsys, db_dsn, tiny_model_dir)
        wait_for(lambda: stored(db_dsn, session_id) >= 4, 300, "some runs", [worker])
        worker.send_signal(signal.SIGTERM)
        _out, err = worker.communicate(timeout=120)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, err
    assert "goes back to the queue" in err
    kept = stored(db_dsn, session_id)
    assert kept % 4 == 0 and 4 <= kept < 48  # whole batches, committed
    [job] = query(db_dsn, "select status::text as status, attempts from public.procrastinate_jobs "
                          "where args ->> 'session_id' = %s", (session_id,))
    assert job == {"status": "todo", "attempts": 1}
    assert status_of(db_dsn, session_id) == "running"
    finisher = start_worker(db_dsn, "--until-empty")
    _out, err = finisher.communicate(timeout=600)
    assert finisher.returncode == 0, err
    assert [r["run_number"] for r in runs_of(db_dsn, session_id)] == list(range(1, 49))
    assert status_of(db_dsn, session_id) == "completed"


def test_queueing_a_waiting_shard_again_is_refused_by_the_queueing_lock(db_dsn, tiny_model_dir, capsys):
    [submitted] = submit(capsys, db_dsn, tiny_model_dir, "Geist", "--runs", "40", "--shard-size", "20", "--seed", "3")
    before = query(db_dsn, "select id, lock, queueing_lock from public.procrastinate_jobs order by id")
    assert [j["queueing_lock"] for j in before] == [f"shard:{submitted['session_id']}:1-20",
                                                     f"shard:{submitted['session_id']}:21-40"]
    again = run_cli(capsys, "submit", "--session", submitted["session_id"][:8], "--shard-size", "20", "--dsn", db_dsn)
    assert_clean(again, 2)
    assert "already waiting in the queue" in again.err and len(again.err.strip().splitlines()) == 1
    assert query(db_dsn, "select id, lock, queueing_lock from public.procrastinate_jobs order by id") == before
    # its submitter is gone, but the session is not stale: the queue's workers collect it
    listed = run_cli(capsys, "sessions", "--dsn", db_dsn)
    assert_clean(listed)
    assert f"{submitted['session_id']}  queued " in listed.out
    resumed = run_cli(capsys, "resume", submitted["session_id"], "--dsn", db_dsn)
    assert_clean(resumed, 2)
    assert "is queued: workers collect its shards" in resumed.err


def test_submit_refuses_until_ci_and_bad_shard_sizes_before_writing(db_dsn, tiny_model_dir, capsys):
    from tests.cli_helpers import table_counts

    counts = table_counts(db_dsn)
    for args, says in [(("--shard-size", "0"), "--shard-size must be at least 1"),
                       (("--runs", "100000", "--shard-size", "1"), "at most 10000")]:
        result = run_cli(capsys, "submit", "Geist", *args, "--model", str(tiny_model_dir), "--dsn", db_dsn)
        assert_clean(result, 2)
        assert says in result.err
    assert table_counts(db_dsn) == counts
    assert query(db_dsn, "select count(*) as n from public.procrastinate_jobs")[0]["n"] == 0


@pytest.mark.parametrize("timing", ["1,3", "a,b,c", "5,3,1", "1,3,0", "1,3,1.5", "1,3,\x1b[2J"])
def test_a_malformed_queue_timing_is_one_line_before_anything_starts(db_dsn, capsys, monkeypatch, timing):
    monkeypatch.setenv("NYX_QUEUE_TIMING", timing)
    result = run_cli(capsys, "worker", "--until-empty", "--no-iris", "--dsn", db_dsn)
    assert_clean(result, 2)
    assert result.err.startswith("Error: NYX_QUEUE_TIMING must be") and result.err.count("\n") == 1, result.err
    assert query(db_dsn, "select count(*) as n from raw.queue_workers")[0]["n"] == 0


def test_the_refresh_is_a_periodic_task_one_at_a_time_and_a_worker_builds_the_marts(db_dsn, capsys):
    from procrastinate.exceptions import AlreadyEnqueued

    from collector.queue.app import REFRESH_TASK, STALLED_TASK, QueueSettings, make_app

    app = make_app(db_dsn)
    assert {(p.task.name, p.cron) for p in app.periodic_registry.periodic_tasks.values()} == {
        (REFRESH_TASK, "*/5 * * * *"), (STALLED_TASK, "* * * * *")}
    quiet = make_app(db_dsn, QueueSettings(refresh_cron=None))
    assert [p.task.name for p in quiet.periodic_registry.periodic_tasks.values()] == [STALLED_TASK]
    with app.open():
        app.tasks[REFRESH_TASK].defer(timestamp=0)
        with pytest.raises(AlreadyEnqueued):  # one refresh waits at a time, across the cluster
            app.tasks[REFRESH_TASK].defer(timestamp=1)
    assert query(db_dsn, "select to_regclass('marts.session_stats') as t") == [{"t": None}]
    worker = start_worker(db_dsn, "--until-empty", "--queue", "maintenance")
    _out, err = worker.communicate(timeout=600)
    assert worker.returncode == 0, err
    assert query(db_dsn, "select status::text as s from public.procrastinate_jobs where task_name = %s",
                 (REFRESH_TASK,)) == [{"s": "succeeded"}]
    assert query(db_dsn, "select to_regclass('marts.session_stats')::text as t") == [{"t": "marts.session_stats"}]
    assert query(db_dsn, "select to_regclass('marts.collection_progress')::text as t") == [
        {"t": "marts.collection_progress"}]
