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
