"""The work queue against a plain collection: throughput of 1, 2 and 3 worker processes, and what
the queue costs per shard.

    .venv/bin/python bench/queue_workers.py                         # SmolLM2, 48 runs in shards of 12
    .venv/bin/python bench/queue_workers.py --runs 24 --shard-size 6 --model /path/to/model --dsn postgresql://...

Each configuration collects the same session settings (one term, a fixed seed, full chains, the
default judge) into a fresh database of the embedded server (or of the server --dsn names, as a
superuser):

* plain: ``nyx-collect TERM --runs N`` in one process (model load excluded: the wall time of the
  session from its first to its last stored run is not used; the CLI's own elapsed time is);
* queued, W = 1, 2, 3: W ``nyx-collect worker`` processes are started and registered first (their
  model loads are not timed), then ``submit`` and the wall time until the session completes.

The wall time of a queued collection runs from before ``submit`` (its own seconds are printed) to
the session's completion; the queue's overhead per shard is (the time after submit with 1 worker -
plain) / shards. The latency from a job's deferral to its start is read from procrastinate's
events: its minimum is an idle worker's pickup, its mean includes shards waiting behind others. On a 2-core machine more workers
cannot run faster (torch already uses both cores): the figures say what it costs. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.run import fresh_database  # noqa: E402
from collector.db.connect import embedded  # noqa: E402

EXE = Path(sys.executable).with_name("nyx-collect")


def query(dsn: str, text: str, params=None) -> list[dict]:
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return conn.execute(text, params).fetchall()


def settings(args) -> list[str]:
    model = ["--model", args.model] if args.model else []
    return ["--runs", str(args.runs), "--seed", "7", "--batch-size", str(args.batch_size), "--max-new-tokens",
            str(args.max_new_tokens), "--device", "cpu", *model]


def plain(dsn: str, args) -> float:
    out = subprocess.run([str(EXE), args.term, *settings(args), "--dsn", dsn, "--no-iris", "--quiet", "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["elapsed_s"]


def _warm_up(dsn: str, args, workers: int) -> None:
    warm = settings(args)
    warm[warm.index("--runs") + 1] = str(workers)
    out = subprocess.run([str(EXE), "submit", "warm-up", *warm, "--shard-size", "1", "--dsn", dsn, "--json"],
                         check=True, capture_output=True, text=True).stdout
    session_id = json.loads(out)["session_id"]
    while query(dsn, "select status from raw.probe_sessions where session_id = %s",
                (session_id,))[0]["status"] != "completed":
        time.sleep(0.2)
    with psycopg.connect(dsn) as conn:  # its events would count in the latency below
        conn.execute("delete from public.procrastinate_jobs where args ->> 'session_id' = %s", (session_id,))


def queued(dsn: str, args, workers: int) -> dict:
    env = {**os.environ}
    procs = [subprocess.Popen([str(EXE), "worker", "--dsn", dsn, "--device", "cpu", "--no-iris", "--refresh-every",
                               "0", *args.worker_args.split()], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(workers)]
    try:
        while query(dsn, "select count(*) as n from public.procrastinate_workers")[0]["n"] < workers:
            time.sleep(0.2)
        _warm_up(dsn, args, workers)  # each worker loads the model on its first job: not timed
        started = time.monotonic()
        out = subprocess.run([str(EXE), "submit", args.term, *settings(args), "--shard-size", str(args.shard_size),
                              "--dsn", dsn, "--json"], check=True, capture_output=True, text=True).stdout
        session_id = json.loads(out)["session_id"]
        submitted = time.monotonic()
        while query(dsn, "select status from raw.probe_sessions where session_id = %s",
                    (session_id,))[0]["status"] != "completed":
            time.sleep(0.2)
        done = time.monotonic()
        wall, after_submit = done - started, done - submitted
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=300)
    latency = query(dsn, """
        select avg(extract(epoch from s.at - d.at)) as mean_s, min(extract(epoch from s.at - d.at)) as min_s
        from public.procrastinate_events as d
        join public.procrastinate_events as s on s.job_id = d.job_id and s.type = 'started'
        join public.procrastinate_jobs as j on j.id = d.job_id
        where d.type = 'deferred' and j.task_name = 'nyx.collect_shard'""")[0]
    return {"wall_s": wall, "after_submit_s": after_submit, "submit_s": submitted - started, "defer_to_start_mean_s": float(latency["mean_s"]),
            "defer_to_start_min_s": float(latency["min_s"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=48)
    parser.add_argument("--shard-size", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=12)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--term", default="Aufhebung")
    parser.add_argument("--model", default=None, help="default: the embedded SmolLM2-135M-Instruct")
    parser.add_argument("--workers", default="1,2,3")
    parser.add_argument("--dsn", default=None)
    parser.add_argument("--worker-args", default="", help="more options for each worker, e.g. --overlap-judge")
    args = parser.parse_args()
    server = args.dsn or embedded().ensure_running()
    shards = -(-args.runs // args.shard_size)
    print(f"{args.runs} runs of {args.term!r}, batch {args.batch_size}, {args.max_new_tokens} new tokens a round, "
          f"{shards} shard(s) of {args.shard_size}; {os.cpu_count()} CPU(s)")
    with fresh_database(server, "plain") as dsn:
        base = plain(dsn, args)
    print(f"{'plain collection':<22} {base:8.1f} s  {args.runs / base:6.2f} runs/s")
    for workers in (int(w) for w in args.workers.split(",")):
        with fresh_database(server, f"queue{workers}") as dsn:
            got = queued(dsn, args, workers)
        overhead = (got["after_submit_s"] - base) / shards
        print(f"{f'queued, {workers} worker(s)':<22} {got['wall_s']:8.1f} s  {args.runs / got['wall_s']:6.2f} runs/s  "
              f"x{base / got['wall_s']:.2f} of plain  (after submit - plain) / shards {overhead:+.2f} s  "
              f"defer->start mean {got['defer_to_start_mean_s']:.2f} s (min {got['defer_to_start_min_s']:.3f} s)  "
              f"submit {got['submit_s']:.1f} s")


if __name__ == "__main__":
    main()
