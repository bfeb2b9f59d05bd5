"""Least privilege, with real roles: the collector writes raw but has no DDL and may only move a
session through the transitions collecting and resuming make; the analyst reads what dbt builds and
nothing in raw."""

from __future__ import annotations

import json
import secrets
import uuid

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from tests.cli_helpers import query, run_cli


@pytest.fixture(scope="module")
def login_roles(pg_dsn):
    """Two login roles, members of nyx_collector and nyx_analyst (created by the migrations)."""
    suffix = uuid.uuid4().hex[:8]
    names = {"collector": f"test_collector_{suffix}", "analyst": f"test_analyst_{suffix}"}
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("select 1 from pg_roles where rolname = 'nyx_collector'")
        for kind, name in names.items():
            PASSWORDS[name] = secrets.token_urlsafe(16)  # the embedded server asks for it; a trust server does not
            conn.execute(sql.SQL("create role {} login password {} in role {}").format(
                sql.Identifier(name), sql.Literal(PASSWORDS[name]), sql.Identifier(f"nyx_{kind}")))
    yield names
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        for name in names.values():
            conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("drop role {}").format(sql.Identifier(name)))


PASSWORDS: dict[str, str] = {}


def as_role(dsn: str, role: str) -> str:
    return make_conninfo(dsn, user=role, password=PASSWORDS[role])


def test_collector_role_collects_but_has_no_ddl(capsys, db_dsn, tiny_model_dir, login_roles):
    dsn = as_role(db_dsn, login_roles["collector"])
    result = run_cli(capsys, "Pflicht", "--runs", "4", "--max-new-tokens", "3", "--model", str(tiny_model_dir),
                     "--dsn", dsn, "--quiet", "--json", "--no-iris")
    assert result.code == 0, result.err
    assert query(dsn, "select count(*) as n from raw.variance_probe_runs")[0]["n"] == 4
    written = run_cli(capsys, "message", "write", "--to", "partnership", "--type", "status_report", "ok", "--dsn", dsn)
    assert written.code == 0, written.err
    for statement in ("create table raw.intruder (x int)", "drop table raw.probe_rounds",
                      "alter table raw.variance_probe_runs add column x int", "create table public.intruder (x int)",
                      "delete from raw.variance_probe_runs", "truncate raw.probe_sessions",
                      "create schema intruder"):
        with psycopg.connect(dsn, autocommit=True) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_collector_role_stops_on_precision_but_cannot_lower_runs_requested_otherwise(capsys, db_dsn, tiny_model_dir,
                                                                                      login_roles):
    dsn = as_role(db_dsn, login_roles["collector"])
    base = ["Pflicht", "--batch-size", "5", "--max-new-tokens", "3", "--model", str(tiny_model_dir), "--dsn", dsn,
            "--quiet", "--json", "--no-iris"]
    result = run_cli(capsys, *base, "--until-ci", "3", "--min-runs", "5", "--runs", "20")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert (summary["runs_stored"], summary["runs_requested"], summary["stopped_reason"]) == (5, 5, "precision")
    fixed = json.loads(run_cli(capsys, *base, "--runs", "4").out)["session_id"]
    with psycopg.connect(db_dsn, autocommit=True) as owner:  # as if it had been interrupted
        owner.execute("update raw.probe_sessions set status = 'interrupted' where session_id = %s", (fixed,))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("update raw.probe_sessions set status = 'running', finished_at = null where session_id = %s",
                     (fixed,))
        with pytest.raises(psycopg.errors.CheckViolation, match="is fixed"):
            conn.execute("update raw.probe_sessions set status = 'completed', finished_at = now(), "
                         "runs_requested = 2 where session_id = %s", (fixed,))


def test_collector_role_adds_glosses_but_cannot_store_bad_ones_or_change_a_version(capsys, db_dsn, login_roles):
    dsn = as_role(db_dsn, login_roles["collector"])
    added = run_cli(capsys, "glossary", "add", "Lichtung", "Clearing.", "--gloss", "clearing", "--gloss-de",
                    "Waldlichtung", "--dsn", dsn)
    assert added.code == 0, added.err
    listed = [json.loads(line) for line in run_cli(capsys, "glossary", "list", "--json", "--dsn", dsn).out.splitlines()]
    assert {r["term"]: r["glosses"] for r in listed}["Lichtung"] == ["clearing"]
    assert {r["term"]: r["glosses_de"] for r in listed}["Aufhebung"]  # the shipped glosses, seeded by the collector
    with psycopg.connect(dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.CheckViolation) as info:  # the checks bind the collector too
            conn.execute("insert into raw.glossary (term, version, language, reference, glosses) "
                         "values ('Sorge', 1, 'de', 'Care.', %s)", (["care", " "],))
        assert info.value.diag.constraint_name == "glossary_glosses_not_blank"
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # a version is never rewritten
            conn.execute("update raw.glossary set glosses = '{}' where term = 'Lichtung'")


def test_analyst_role_reads_the_marts_and_nothing_in_raw(built_db, login_roles):
    dsn = as_role(built_db["dsn"], login_roles["analyst"])
    assert query(dsn, "select count(*) as n from marts.session_stats")[0]["n"] >= 1
    assert query(dsn, "select count(*) as n from grafana.sessions")[0]["n"] >= 1
    for statement in ("select * from raw.variance_probe_runs", "select * from raw.probe_sessions",
                      "insert into public.nimmerverse_to_partnership_messages (message, message_type) "
                      "values ('x', 'question')", "delete from marts.session_stats", "create table marts.x (y int)"):
        with psycopg.connect(dsn, autocommit=True) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_collector_role_labels_rounds_and_the_analyst_reads_only_the_agreement(capsys, db_dsn, tiny_model_dir,
                                                                               login_roles, tmp_path):
    dsn = as_role(db_dsn, login_roles["collector"])
    result = run_cli(capsys, "Pflicht", "--runs", "2", "--max-new-tokens", "3", "--model", str(tiny_model_dir),
                     "--dsn", dsn, "--quiet", "--json", "--no-iris")
    assert result.code == 0, result.err
    sid = json.loads(result.out)["session_id"]
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps({"session_id": sid, "run_number": 1, "round": 1, "label": "COLLAPSE",
                                "labeller": "ann"}) + "\n", encoding="utf-8")
    for _ in range(2):  # insert, then replace (update)
        imported = run_cli(capsys, "label", "import", str(path), "--dsn", dsn)
        assert imported.code == 0, imported.err
    with psycopg.connect(dsn, autocommit=True) as conn:  # undo removes a label
        conn.execute("delete from raw.round_labels where labeller = 'ann'")
    analyst = as_role(db_dsn, login_roles["analyst"])
    with psycopg.connect(analyst, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select * from raw.round_labels")


# --- what the collector may do to a session (migration 0010_collector_status) ---------------------

STATUSES = ("running", "completed", "failed", "interrupted")
# (from, to): the transitions collecting (running -> completed/failed/interrupted) and resuming
# (failed/interrupted -> running; a stale running session taken over: running -> running) make
ALLOWED = {("running", "running"), ("running", "completed"), ("running", "failed"), ("running", "interrupted"),
           ("failed", "running"), ("interrupted", "running")}
TRANSITIONS = [(a, b) for a in STATUSES for b in STATUSES]


@pytest.fixture(scope="module")
def collected(pg_dsn, template_db, tiny_model_dir, login_roles):
    """A database (from the template) with one completed session of 4 runs, collected as the collector."""
    from tests.conftest import create_database, drop_database

    name = f"test_status_{uuid.uuid4().hex[:12]}"
    dsn = create_database(pg_dsn, name, template=template_db)
    result = run_cli(None, "Pflicht", "--runs", "4", "--max-new-tokens", "3", "--model", str(tiny_model_dir),
                     "--dsn", as_role(dsn, login_roles["collector"]), "--quiet", "--json", "--no-iris")
    assert result.code == 0, result.err
    yield {"dsn": dsn, "session_id": json.loads(result.out)["session_id"]}
    drop_database(pg_dsn, name)


def copy_of_session(owner_dsn: str, session_id: str, status: str) -> str:
    """A new session row like ``session_id`` in ``status``, inserted by the owner; its id."""
    new_id = str(uuid.uuid4())
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute("create temp table copied as select * from raw.probe_sessions where session_id = %s", [session_id])
        conn.execute("update copied set session_id = %s, status = %s, "
                     "finished_at = case when %s = 'running' then null else started_at end", [new_id, status, status])
        conn.execute("insert into raw.probe_sessions select * from copied")
    return new_id


@pytest.mark.parametrize("before, after", TRANSITIONS, ids=[f"{a}->{b}" for a, b in TRANSITIONS])
def test_the_collector_may_only_make_the_transitions_collecting_and_resuming_need(collected, login_roles, before,
                                                                                  after):
    sid = copy_of_session(collected["dsn"], collected["session_id"], before)
    update = ("update raw.probe_sessions set status = %s, error = 'x', pid = pid + 1, "
              "finished_at = case when %s = 'running' then null else now() end where session_id = %s")
    with psycopg.connect(as_role(collected["dsn"], login_roles["collector"]), autocommit=True) as conn:
        if (before, after) in ALLOWED:
            conn.execute(update, [after, after, sid])
        else:
            with pytest.raises(psycopg.errors.InsufficientPrivilege) as info:
                conn.execute(update, [after, after, sid])
            assert "completed" in str(info.value) or f"from {before} to {after}" in str(info.value)
    assert query(collected["dsn"], "select status from raw.probe_sessions where session_id = %s", [sid])[0]["status"] \
        == (after if (before, after) in ALLOWED else before)


def test_the_collector_cannot_touch_a_completed_session(collected, login_roles):
    sid = collected["session_id"]
    before = query(collected["dsn"], "select * from raw.probe_sessions where session_id = %s", [sid])[0]
    for statement in ("update raw.probe_sessions set error = 'rewritten' where session_id = %s",
                      "update raw.probe_sessions set hostname = 'elsewhere', pid = 1 where session_id = %s",
                      "update raw.probe_sessions set finished_at = now() where session_id = %s",
                      "update raw.probe_sessions set status = 'failed' where session_id = %s"):
        with psycopg.connect(as_role(collected["dsn"], login_roles["collector"]), autocommit=True) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="is completed"):
                conn.execute(statement, [sid])
    assert query(collected["dsn"], "select * from raw.probe_sessions where session_id = %s", [sid])[0] == before


def test_the_collector_cannot_insert_a_session_that_is_not_running(collected, login_roles):
    with psycopg.connect(as_role(collected["dsn"], login_roles["collector"]), autocommit=True) as conn:
        conn.execute("create temp table copied as select * from raw.probe_sessions where session_id = %s",
                     [collected["session_id"]])
        conn.execute("update copied set session_id = gen_random_uuid()")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="a new session is running, not completed"):
            conn.execute("insert into raw.probe_sessions select * from copied")
        conn.execute("update copied set status = 'running', finished_at = null")
        conn.execute("insert into raw.probe_sessions select * from copied")  # the way collecting starts


def test_the_collector_records_a_judges_settings_when_it_creates_a_session_and_never_changes_them(collected,
                                                                                                  login_roles):
    """A served judge's instrument (0013_judge_settings) is written with the session row; nyx_collector
    has no grant to update it (nor the encoder), even while the session runs."""
    settings = json.dumps({"model": "qwen", "prompt_version": "llm-1/p1", "decoding": {"temperature": 0}})
    collector = as_role(collected["dsn"], login_roles["collector"])
    with psycopg.connect(collector, autocommit=True) as conn:
        conn.execute("create temp table copied as select * from raw.probe_sessions where session_id = %s",
                     [collected["session_id"]])
        new_id = str(uuid.uuid4())
        conn.execute("update copied set session_id = %s, status = 'running', finished_at = null, "
                     "judge_settings = %s::jsonb", [new_id, settings])
        conn.execute("insert into raw.probe_sessions select * from copied")
        for column, value in (("judge_settings", "'{}'::jsonb"), ("encoder", "'another model'")):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"update raw.probe_sessions set {column} = {value} where session_id = %s", [new_id])
    row = query(collected["dsn"], "select judge_settings, encoder from raw.probe_sessions where session_id = %s",
                [new_id])[0]
    assert row["judge_settings"] == json.loads(settings) and row["encoder"] != "another model"


def test_the_collector_cannot_add_runs_to_a_completed_session(collected, login_roles):
    """Run 4 of the completed session is taken out by the owner; the collector cannot put it (or any
    of its rounds) back, by INSERT or by COPY, while the owner can."""
    dsn, sid = collected["dsn"], collected["session_id"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create table public.saved_runs as select * from raw.variance_probe_runs "
                     "where session_id = %s and run_number = 4", [sid])
        conn.execute("create table public.saved_rounds as select * from raw.probe_rounds "
                     "where session_id = %s and run_number = 4", [sid])
        conn.execute("grant select on public.saved_runs, public.saved_rounds to nyx_collector")
        conn.execute("delete from raw.variance_probe_runs where session_id = %s and run_number = 4", [sid])
    columns = [r["column_name"] for r in query(dsn, "select column_name from information_schema.columns where "
                                                    "table_schema = 'public' and table_name = 'saved_runs' "
                                                    "and column_name <> 'id' order by ordinal_position")]
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    insert_run = sql.SQL("insert into raw.variance_probe_runs ({c}) select {c} from public.saved_runs").format(c=cols)
    try:
        with psycopg.connect(as_role(dsn, login_roles["collector"]), autocommit=True) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="is completed"):
                conn.execute(insert_run)
            rows = conn.execute(sql.SQL("select {c} from public.saved_runs").format(c=cols)).fetchall()
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="is completed"):
                with conn.cursor().copy(sql.SQL("copy raw.variance_probe_runs ({c}) from stdin").format(c=cols)) as cp:
                    for row in rows:
                        cp.write_row(row)
        assert query(dsn, "select count(*) as n from raw.variance_probe_runs where session_id = %s", [sid])[0]["n"] == 3
        with psycopg.connect(dsn) as conn:  # the owner may repair: the run and its rounds, in one transaction
            conn.execute(insert_run)
            conn.execute("insert into raw.probe_rounds select * from public.saved_rounds")
        assert query(dsn, "select count(*) as n from raw.probe_rounds where session_id = %s", [sid])[0]["n"] == \
            query(dsn, "select sum(rounds) as n from raw.variance_probe_runs where session_id = %s", [sid])[0]["n"]
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("drop table if exists public.saved_runs, public.saved_rounds")


def test_the_collector_cannot_write_the_semantic_variance_of_a_completed_session(collected, login_roles):
    dsn, sid = collected["dsn"], collected["session_id"]
    running = copy_of_session(dsn, sid, "running")
    row = ("insert into raw.session_semantic_variance (session_id, model_name, chains, dimensions, "
           "mean_centroid_distance, mean_pairwise_cosine_distance) values (%s, 'm', 2, 8, 0.1, 0.2) "
           "on conflict (session_id) do update set chains = excluded.chains")
    with psycopg.connect(as_role(dsn, login_roles["collector"]), autocommit=True) as conn:
        conn.execute(row, [running])  # what collecting does before it completes the session
        for session in (sid, running):
            with psycopg.connect(dsn, autocommit=True) as owner:
                owner.execute("update raw.probe_sessions set status = 'completed', finished_at = now() "
                              "where session_id = %s and status <> 'completed'", [session])
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="is completed"):
                conn.execute(row, [session])  # neither a new row nor an update of the existing one


def test_the_collector_resumes_an_interrupted_session(capsys, collected, login_roles, tiny_model_dir):
    """The real path: reopen (interrupted -> running), the missing runs, completed; then nothing more."""
    dsn = collected["dsn"]
    sid = copy_of_session(dsn, collected["session_id"], "interrupted")
    collector = as_role(dsn, login_roles["collector"])
    resumed = run_cli(capsys, "resume", sid, "--model", str(tiny_model_dir), "--dsn", collector, "--no-iris",
                      "--quiet", "--json")
    assert resumed.code == 0, resumed.err
    assert json.loads(resumed.out)["status"] == "completed" and json.loads(resumed.out)["runs_stored"] == 4
    again = run_cli(capsys, "resume", sid, "--model", str(tiny_model_dir), "--dsn", collector, "--no-iris")
    assert again.code == 2 and "nothing to resume" in again.err


def test_collector_role_submits_and_runs_queue_jobs(capsys, db_dsn, tiny_model_dir, login_roles):
    import subprocess
    import sys
    from pathlib import Path

    dsn = as_role(db_dsn, login_roles["collector"])
    submitted = run_cli(capsys, "submit", "Pflicht", "--runs", "8", "--shard-size", "4", "--max-new-tokens", "3",
                        "--judge", "rules-1", "--model", str(tiny_model_dir), "--device", "cpu", "--dsn", dsn, "--json")
    assert submitted.code == 0, submitted.err
    worker = subprocess.run([str(Path(sys.executable).with_name("nyx-collect")), "worker", "--until-empty",
                             "--queue", "collect", "--device", "cpu", "--no-iris", "--dsn", dsn],
                            capture_output=True, text=True, timeout=600)
    assert worker.returncode == 0, worker.stderr
    assert query(dsn, "select status from raw.probe_sessions") == [{"status": "completed"}]
    assert query(dsn, "select count(*) as n from raw.variance_probe_runs")[0]["n"] == 8
    assert query(dsn, "select count(*) as n from raw.queue_workers")[0]["n"] == 1
    analyst = as_role(db_dsn, login_roles["analyst"])
    assert query(analyst, "select status::text as s, count(*) as n from public.procrastinate_jobs "
                          "where task_name = 'nyx.collect_shard' group by 1") == [{"s": "succeeded", "n": 2}]
    with psycopg.connect(analyst, autocommit=True) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("delete from public.procrastinate_jobs")
