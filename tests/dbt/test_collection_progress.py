"""The live views over the work queue (issue 22): marts.collection_progress, marts.queue_shards and
grafana.collection_progress, on a fixture written straight into procrastinate's tables as `submit`
and `worker` leave them: two queued sessions with shards in every state, workers with and without
their raw.queue_workers row (and one pruned), a retried shard, an older failed job of a shard that
was submitted again, a refresh job, and a session collected without the queue.

The views are views: rows written to the queue after the build show at once, without a dbt run.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from collector.db.store import Store
from collector.read.marts import read_mart
from tests.cli_helpers import query
from tests.conftest import _unique, create_database, drop_database
from tests.conftest_dbt import insert_synthetic_session
from tests.dbt.test_grafana_panels import PANELS, QUEUE_PANELS, expand
from tests.dbt_helpers import run_dbt

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
MODEL = "queue-model"
# run numbers stored, and the seconds after START at which each was stored (uneven on purpose)
A_RUNS = list(range(1, 21)) + [31, 32, 33]  # shard 1-15 done, 16-30 running (5 stored), 31-45 running (3)
B_RUNS = list(range(1, 15))  # shard 1-10 done, 11-20 failed after 4 runs, 21-30 cancelled


def _at(i: int) -> dt.datetime:
    return START + dt.timedelta(seconds=3 * i + 0.25 * i * i)


def _queued_session(conn, dsn: str, term: str, runs_requested: int, stored: list[int], status: str) -> uuid.UUID:
    """A session as `submit` makes it (queued, running) with only the runs ``stored``, stored at _at(i)."""
    sid = insert_synthetic_session(dsn, term, MODEL, 0.8, runs_requested, "rules-1",
                                   started_at=START.isoformat(), finished_at=START.isoformat())
    conn.execute("delete from raw.variance_probe_runs where session_id = %s and not run_number = any(%s)",
                 (sid, stored))
    for i, n in enumerate(sorted(stored)):
        conn.execute('update raw.variance_probe_runs set "timestamp" = %s where session_id = %s and run_number = %s',
                     (_at(i), sid, n))
    finished = None if status == "running" else _at(len(stored))
    conn.execute("update raw.probe_sessions set queued = true, status = %s, finished_at = %s where session_id = %s",
                 (status, finished, sid))
    return sid


def _worker(conn, host: str | None = None, pid: int = 0, device: str = "cpu") -> int:
    """A procrastinate worker id, with its raw.queue_workers row when ``host`` is given."""
    wid = conn.execute("insert into public.procrastinate_workers default values returning id").fetchone()[0]
    if host:
        conn.execute("insert into raw.queue_workers (worker_id, hostname, pid, device) values (%s, %s, %s, %s)",
                     (wid, host, pid, device))
    return wid


def _job(conn, sid, first: int, last: int, status: str, worker: int | None = None, attempts: int = 0,
         events: tuple[tuple[str, int], ...] = (), queue: str = "collect") -> int:
    """A collect job as `submit` defers it, in ``status``, with its events (type, seconds after START)."""
    lock = f"shard:{sid}:{first}-{last}"
    job = conn.execute(
        """insert into public.procrastinate_jobs (queue_name, task_name, lock, queueing_lock, args, status,
               attempts, worker_id)
           values (%s, 'nyx.collect_shard', %s, %s, %s, %s, %s, %s) returning id""",
        (queue, lock, lock, json.dumps({"session_id": str(sid), "first": first, "last": last}), status, attempts,
         worker)).fetchone()[0]
    for kind, seconds in events:
        conn.execute("insert into public.procrastinate_events (job_id, type, at) values (%s, %s, %s)",
                     (job, kind, START + dt.timedelta(seconds=seconds)))
    return job


@pytest.fixture(scope="module")
def queue_db(pg_dsn: str, template_db: str):
    name = _unique("queue")
    dsn = create_database(pg_dsn, name, template=template_db)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            a = _queued_session(conn, dsn, "Synthese", 60, A_RUNS, "running")
            b = _queued_session(conn, dsn, "Wille", 30, B_RUNS, "failed")
            c = _queued_session(conn, dsn, "Lichtung", 10, [], "running")  # submitted, nothing stored yet
            plain = insert_synthetic_session(dsn, "Aufhebung", MODEL, 0.8, 12, "rules-1")  # not queued
            gpu_a = _worker(conn, "gpu-a", 101, "cuda:0")
            gpu_b = _worker(conn, "gpu-b", 202, "cuda:1")
            bare = _worker(conn)  # never wrote its raw.queue_workers row
            gone = _worker(conn, "gpu-c", 303, "cuda:0")
            jobs = {
                "a1": _job(conn, a, 1, 15, "succeeded", gpu_a, 1, (("deferred", 0), ("started", 1), ("succeeded", 50))),
                "a2": _job(conn, a, 16, 30, "doing", gpu_b, 1, (("deferred", 0), ("started", 2))),
                "a3": _job(conn, a, 31, 45, "doing", bare, 2,
                           (("deferred", 0), ("started", 3), ("deferred_for_retry", 40), ("started", 60))),
                "a4_old": _job(conn, a, 46, 60, "failed", gone, 3, (("deferred", 0), ("started", 4), ("failed", 30))),
                "a4": _job(conn, a, 46, 60, "todo", events=(("deferred", 70),)),
                "b1": _job(conn, b, 1, 10, "succeeded", gpu_a, 1, (("started", 5), ("succeeded", 45))),
                "b2": _job(conn, b, 11, 20, "failed", gone, 3, (("started", 6), ("failed", 80))),
                "b3": _job(conn, b, 21, 30, "cancelled", events=(("cancelled", 90),)),
                "c1": _job(conn, c, 1, 10, "todo", queue="big-gpu"),
            }
            conn.execute("delete from public.procrastinate_workers where id = %s", (gone,))  # pruned: worker_id null
            conn.execute("""insert into public.procrastinate_jobs (queue_name, task_name, lock, queueing_lock, status)
                            values ('collect', 'nyx.refresh', 'refresh', 'refresh', 'succeeded')""")
        build = run_dbt(dsn, "build")
        assert build.returncode == 0, build.stdout[-6000:] + build.stderr[-2000:]
        yield {"dsn": dsn, "a": a, "b": b, "c": c, "plain": plain, "jobs": jobs, "bare": bare}
    finally:
        drop_database(pg_dsn, name)


def _progress(dsn) -> dict[uuid.UUID, dict]:
    return {r["session_id"]: r for r in query(dsn, "select * from marts.collection_progress")}


def _rate(n: int) -> float:
    return n / (_at(n - 1) - _at(0)).total_seconds()


def test_one_row_per_queued_session_and_none_for_a_session_collected_without_the_queue(queue_db):
    rows = _progress(queue_db["dsn"])
    assert set(rows) == {queue_db["a"], queue_db["b"], queue_db["c"]}
    assert queue_db["plain"] not in rows


def test_shards_runs_and_workers_of_each_session(queue_db):
    rows = _progress(queue_db["dsn"])
    a, b, c = rows[queue_db["a"]], rows[queue_db["b"]], rows[queue_db["c"]]
    # the shard 46-60 submitted again after it failed counts once, as its newest job (waiting)
    assert (a["shards_total"], a["shards_waiting"], a["shards_running"], a["shards_done"], a["shards_failed"],
            a["shards_cancelled"]) == (4, 1, 2, 1, 0, 0)
    assert (b["shards_total"], b["shards_waiting"], b["shards_running"], b["shards_done"], b["shards_failed"],
            b["shards_cancelled"]) == (3, 0, 0, 1, 1, 1)
    assert (c["shards_total"], c["shards_waiting"]) == (1, 1)
    assert (a["runs_requested"], a["runs_stored"], b["runs_stored"], c["runs_stored"]) == (60, 23, 14, 0)
    assert a["progress"] == pytest.approx(23 / 60)
    # running shards only: gpu-a finished its shard; the bare worker has no raw.queue_workers row
    assert a["workers"] == f"gpu-b:202 (cuda:1), worker {queue_db['bare']}"
    assert b["workers"] is None and c["workers"] is None
    assert (a["term"], a["model_name"], a["status"], b["status"]) == ("Synthese", MODEL, "running", "failed")


def test_rate_and_time_left_from_the_stored_runs(queue_db):
    rows = _progress(queue_db["dsn"])
    a, b, c = rows[queue_db["a"]], rows[queue_db["b"]], rows[queue_db["c"]]
    assert (a["first_run_at"], a["last_run_at"]) == (_at(0), _at(22))
    assert a["runs_per_second"] == pytest.approx(_rate(23), rel=1e-12)
    assert b["runs_per_second"] == pytest.approx(_rate(14), rel=1e-12)
    assert a["eta_seconds"] == pytest.approx((60 - 23) / _rate(23), rel=1e-12)
    assert b["eta_seconds"] is None  # failed: nothing more is coming
    assert c["runs_per_second"] is None and c["eta_seconds"] is None and c["first_run_at"] is None


def test_one_row_per_shard_job(queue_db):
    jobs = queue_db["jobs"]
    rows = {r["job_id"]: r for r in query(queue_db["dsn"], "select * from marts.queue_shards")}
    assert set(rows) == set(jobs.values())  # the refresh job is not a shard
    got = {name: (rows[j]["first_run"], rows[j]["last_run"], rows[j]["runs_in_shard"], rows[j]["runs_stored"],
                  rows[j]["state"], rows[j]["attempts"], rows[j]["is_current"]) for name, j in jobs.items()}
    assert got == {
        "a1": (1, 15, 15, 15, "done", 1, True), "a2": (16, 30, 15, 5, "running", 1, True),
        "a3": (31, 45, 15, 3, "running", 2, True), "a4_old": (46, 60, 15, 0, "failed", 3, False),
        "a4": (46, 60, 15, 0, "waiting", 0, True), "b1": (1, 10, 10, 10, "done", 1, True),
        "b2": (11, 20, 10, 4, "failed", 3, True), "b3": (21, 30, 10, 0, "cancelled", 0, True),
        "c1": (1, 10, 10, 0, "waiting", 0, True),
    }
    assert rows[jobs["a1"]]["worker"] == "gpu-a:101 (cuda:0)"
    assert rows[jobs["a3"]]["worker"] == f"worker {queue_db['bare']}"
    assert rows[jobs["b2"]]["worker"] is None and rows[jobs["b2"]]["worker_id"] is None  # pruned
    assert rows[jobs["c1"]]["queue_name"] == "big-gpu" and rows[jobs["a1"]]["queue_name"] == "collect"
    at = lambda s: START + dt.timedelta(seconds=s)  # noqa: E731
    assert (rows[jobs["a3"]]["started_at"], rows[jobs["a3"]]["finished_at"]) == (at(60), None)  # latest start
    assert (rows[jobs["a1"]]["started_at"], rows[jobs["a1"]]["finished_at"]) == (at(1), at(50))
    assert (rows[jobs["b3"]]["started_at"], rows[jobs["b3"]]["finished_at"]) == (None, at(90))
    assert {r["term"] for r in rows.values()} == {"Synthese", "Wille", "Lichtung"}


def test_the_views_are_live_without_a_dbt_run(queue_db):
    # a worker finishes shard 16-30 and a new shard job appears; read in the same transaction, rolled back
    with psycopg.connect(queue_db["dsn"]) as conn:
        conn.execute("update public.procrastinate_jobs set status = 'succeeded' where id = %s",
                     (queue_db["jobs"]["a2"],))
        _job(conn, queue_db["c"], 11, 20, "todo")
        cur = conn.cursor(row_factory=dict_row)
        rows = {r["session_id"]: r for r in cur.execute("select * from marts.collection_progress").fetchall()}
        shard = cur.execute("select state, finished_at from marts.queue_shards where job_id = %s",
                             (queue_db["jobs"]["a2"],)).fetchone()
        conn.rollback()
    a, c = rows[queue_db["a"]], rows[queue_db["c"]]
    assert (a["shards_running"], a["shards_done"], a["workers"]) == (1, 2, f"worker {queue_db['bare']}")
    assert (c["shards_total"], c["shards_waiting"]) == (2, 2)
    assert shard["state"] == "done" and shard["finished_at"] is not None  # procrastinate's trigger wrote the event


def test_read_mart_reads_both(queue_db):
    with Store.connect(queue_db["dsn"]) as store:
        (row,) = read_mart(store, "collection_progress", where={"term": "Synthese"})
        shards = read_mart(store, "queue_shards", where={"session_id": queue_db["a"], "is_current": True},
                           order_by=["first_run"], columns=["first_run", "state"])
    assert row["session_id"] == queue_db["a"]
    assert shards == [{"first_run": 1, "state": "done"}, {"first_run": 16, "state": "running"},
                      {"first_run": 31, "state": "running"}, {"first_run": 46, "state": "waiting"}]


def test_the_grafana_panel_shows_the_queued_sessions(queue_db):
    (panel,) = [p for p in PANELS if p["title"] in QUEUE_PANELS]
    with psycopg.connect(queue_db["dsn"], row_factory=dict_row) as conn:
        rows = conn.execute(expand(panel["targets"][0]["rawSql"], [])).fetchall()
    terms = [r["term"] for r in rows]  # running sessions first (these were submitted at the same time)
    assert len(terms) == 3 and set(terms[:2]) == {"Synthese", "Lichtung"} and terms[2] == "Wille"
    by_term = {r["term"]: r for r in rows}
    assert by_term["Synthese"]["percent_done"] == pytest.approx(38.3)
    assert by_term["Synthese"]["shards_running"] == 2 and by_term["Wille"]["shards_failed"] == 1
    assert by_term["Synthese"]["workers"] == f"gpu-b:202 (cuda:1), worker {queue_db['bare']}"


def test_the_analyst_reads_the_progress_but_not_the_raw_tables_behind_it(queue_db):
    role, password = f"test_analyst_{uuid.uuid4().hex[:8]}", secrets.token_urlsafe(16)
    with psycopg.connect(queue_db["dsn"], autocommit=True) as conn:
        conn.execute(sql.SQL("create role {} login password {} in role nyx_analyst").format(
            sql.Identifier(role), sql.Literal(password)))
    try:
        dsn = make_conninfo(queue_db["dsn"], user=role, password=password)
        for relation in ("marts.collection_progress", "marts.queue_shards", "grafana.collection_progress"):
            assert query(dsn, f"select count(*) as n from {relation}")[0]["n"] >= 3
        with psycopg.connect(dsn, autocommit=True) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select * from raw.queue_workers")
    finally:
        with psycopg.connect(queue_db["dsn"], autocommit=True) as conn:
            conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))


def test_the_queue_command_prints_each_session_and_its_current_shards(queue_db, capsys):
    from tests.cli_helpers import assert_clean, run_cli

    result = run_cli(capsys, "queue", "--shards", "--dsn", queue_db["dsn"])
    assert_clean(result)
    lines = result.out.splitlines()
    [a] = [i for i, line in enumerate(lines) if line.startswith(str(queue_db["a"]))]
    assert "23/60" in lines[a] and "shards 1/4 done, 2 running, 1 waiting, 0 failed" in lines[a]
    assert lines[a].endswith("Synthese")
    assert lines[a + 1].strip() == f"running on gpu-b:202 (cuda:1), worker {queue_db['bare']}"
    shards = [line.split() for line in lines[a + 2:a + 6]]
    assert [s[0] for s in shards] == ["1-15", "16-30", "31-45", "46-60"]  # the newest job of 46-60 only
    assert [s[1] for s in shards] == ["done", "running", "running", "waiting"]
    active = run_cli(capsys, "queue", "--active", "--json", "--dsn", queue_db["dsn"])
    assert_clean(active)
    ids = {json.loads(line)["session_id"] for line in active.out.splitlines()}
    assert ids == {str(queue_db["a"]), str(queue_db["c"])}  # b has nothing waiting or running
