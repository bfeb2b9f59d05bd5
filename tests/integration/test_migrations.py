"""The migrations: file naming, the resulting schema, idempotence, and that the raw tables refuse
every row the probe could not have produced, whoever inserts it (plain SQL here, no Python model)."""

from __future__ import annotations

import math
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from yoyo import get_backend, read_migrations

from collector.db.store import MIGRATION_FILE_PATTERN, Store, migration_files, migrations_dir, yoyo_url
from tests.conftest import create_database, drop_database
from tests.schema import ALL_MIGRATIONS

REPO_ROOT = Path(__file__).resolve().parents[2]


EXPECTED_COLUMNS = {
    "glossary": [
        ("id", "int8", False),
        ("term", "text", False),
        ("version", "int4", False),
        ("language", "text", False),
        ("reference", "text", False),
        ("reference_de", "text", True),
        ("source", "text", True),
        ("added_at", "timestamptz", False),
        ("added_by", "text", False),
        ("glosses", "_text", False),
        ("glosses_de", "_text", False),
    ],
    "probe_sessions": [
        ("session_id", "uuid", False),
        ("term", "text", False),
        ("model_name", "text", False),
        ("model_revision", "text", False),
        ("device", "text", False),
        ("dtype", "text", False),
        ("prompt_template", "text", False),
        ("temperature", "float8", False),
        ("top_p", "float8", False),
        ("top_k", "int4", True),
        ("max_rounds", "int2", False),
        ("max_new_tokens", "int4", False),
        ("seed", "int8", False),
        ("batch_size", "int4", False),
        ("runs_requested", "int4", False),
        ("status", "text", False),
        ("started_at", "timestamptz", False),
        ("finished_at", "timestamptz", True),
        ("collector_version", "text", False),
        ("judge_version", "text", False),
        ("hostname", "text", False),
        ("pid", "int4", False),
        ("error", "text", True),
        ("backend", "text", False),
        ("judge_mode", "text", False),
        ("glossary_id", "int8", True),
        ("encoder", "text", False),
        ("stop_early", "bool", False),
        ("stopping_rule", "text", False),
        ("target_ci_half_width", "float8", True),
        ("min_runs", "int4", True),
        ("stopped_reason", "text", True),
        ("judge_settings", "jsonb", True),
        ("queued", "bool", False),
    ],
    "queue_workers": [
        ("worker_id", "int8", False),
        ("hostname", "text", False),
        ("pid", "int4", False),
        ("device", "text", False),
        ("started_at", "timestamptz", False),
    ],
    "variance_probe_runs": [
        ("id", "int8", False),
        ("session_id", "uuid", False),
        ("term", "text", False),
        ("run_number", "int4", False),
        ("timestamp", "timestamptz", False),
        ("depth", "int2", False),
        ("rounds", "int2", False),
        ("echo_types", "_text", False),
        ("chain", "_text", False),
        ("model_name", "text", False),
        ("temperature", "float8", False),
        ("max_rounds", "int2", False),
        ("max_new_tokens", "int4", False),
        ("seed", "int8", False),
    ],
    "probe_rounds": [
        ("session_id", "uuid", False),
        ("run_number", "int4", False),
        ("round", "int2", False),
        ("prompt", "text", False),
        ("completion", "text", False),
        ("echo_type", "text", False),
        ("tokens_generated", "int4", False),
        ("finish_reason", "text", False),
        ("n_words", "int4", False),
        ("distinct_ratio", "float4", False),
        ("nonletter_ratio", "float4", False),
        ("content_words", "int4", False),
        ("new_stems", "int4", False),
        ("novelty", "float4", False),
        ("sim_term", "float4", True),
        ("sim_prev", "float4", True),
        ("sim_ref", "float4", True),
    ],
    "round_judgements": [
        ("session_id", "uuid", False),
        ("run_number", "int4", False),
        ("round", "int2", False),
        ("judge_version", "text", False),
        ("echo_type", "text", False),
        ("n_words", "int4", False),
        ("distinct_ratio", "float4", False),
        ("nonletter_ratio", "float4", False),
        ("content_words", "int4", False),
        ("new_stems", "int4", False),
        ("novelty", "float4", False),
        ("sim_term", "float4", True),
        ("sim_prev", "float4", True),
        ("sim_ref", "float4", True),
    ],
    "round_labels": [
        ("session_id", "uuid", False),
        ("run_number", "int4", False),
        ("round", "int2", False),
        ("labeller", "text", False),
        ("label", "text", False),
        ("labelled_at", "timestamptz", False),
        ("note", "text", True),
    ],
    "session_judgements": [
        ("session_id", "uuid", False),
        ("judge_version", "text", False),
        ("judge_mode", "text", False),
        ("glossary_id", "int8", True),
        ("encoder", "text", False),
        ("rounds_judged", "int4", False),
        ("judged_at", "timestamptz", False),
        ("collector_version", "text", False),
        ("judge_settings", "jsonb", True),
    ],
    "session_semantic_variance": [
        ("session_id", "uuid", False),
        ("model_name", "text", False),
        ("chains", "int4", False),
        ("dimensions", "int4", False),
        ("mean_centroid_distance", "float8", False),
        ("mean_pairwise_cosine_distance", "float8", True),
        ("computed_at", "timestamptz", False),
    ],
}


def fetch(dsn: str, query: str, params=None) -> list[dict]:
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchall()


def raw_columns(dsn: str) -> dict[str, list[tuple[str, str, bool]]]:
    rows = fetch(
        dsn,
        "select table_name, column_name, udt_name, is_nullable = 'YES' as nullable from information_schema.columns "
        "where table_schema = 'raw' order by table_name, ordinal_position",
    )
    out: dict[str, list] = {}
    for r in rows:
        out.setdefault(r["table_name"], []).append((r["column_name"], r["udt_name"], r["nullable"]))
    return out


def schema_snapshot(dsn: str) -> dict:
    """Everything the migrations define in schema raw, as comparable data."""
    return {
        "columns": fetch(
            dsn,
            "select table_name, column_name, udt_name, is_nullable, column_default, is_identity "
            "from information_schema.columns where table_schema = 'raw' order by 1, 2",
        ),
        "constraints": fetch(
            dsn,
            "select conrelid::regclass::text as tbl, conname, contype, pg_get_constraintdef(oid) as def "
            "from pg_constraint where connamespace = 'raw'::regnamespace and contype in ('c', 'u', 'p', 'f') "
            "order by 1, 2",
        ),
        "indexes": fetch(dsn, "select indexname, indexdef from pg_indexes where schemaname = 'raw' order by 1"),
        "comments": fetch(
            dsn,
            "select c.relname, a.attname, d.description from pg_description d "
            "join pg_class c on c.oid = d.objoid left join pg_attribute a on a.attrelid = c.oid and a.attnum = d.objsubid "
            "where c.relnamespace = 'raw'::regnamespace order by 1, 2 nulls first",
        ),
        "migrations": fetch(dsn, "select migration_id from _yoyo_migration order by 1"),
    }


# ---------------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------------


def test_migration_file_names_follow_the_pattern():
    files = migration_files()
    assert files, f"no migrations in {migrations_dir()}"
    assert migrations_dir() == REPO_ROOT / "migrations"
    everything = [p.name for p in migrations_dir().iterdir() if not p.name.startswith(".")]
    bad = [name for name in everything if not MIGRATION_FILE_PATTERN.match(name)]
    assert not bad, f"migration files must match {MIGRATION_FILE_PATTERN.pattern}: {bad}"
    forward = [p.name for p in files if not p.name.endswith(".rollback.sql")]
    numbers = [name[:4] for name in forward]
    assert len(numbers) == len(set(numbers)), "two migrations share a number"
    assert numbers == sorted(numbers)
    for p in files:
        if p.name.endswith(".rollback.sql"):
            assert p.with_name(p.name.replace(".rollback.sql", ".sql")).exists(), f"{p.name} rolls back nothing"


@pytest.mark.parametrize(
    "name, ok",
    [
        ("0001_raw_schema.sql", True),
        ("0001_raw_schema.rollback.sql", True),
        ("0002_add_index_2.sql", True),
        ("1_raw.sql", False),
        ("0001-raw.sql", False),
        ("0001_Raw.sql", False),
        ("0001_raw.py", False),
        ("0001_.sql", False),
    ],
)
def test_migration_file_pattern(name, ok):
    assert bool(MIGRATION_FILE_PATTERN.match(name)) is ok


# ---------------------------------------------------------------------------------------------
# applying
# ---------------------------------------------------------------------------------------------


def test_migrations_apply_to_an_empty_database_and_give_the_expected_schema(empty_db_dsn):
    with Store.connect(empty_db_dsn) as store:
        assert store.migrate() == ALL_MIGRATIONS
    assert raw_columns(empty_db_dsn) == EXPECTED_COLUMNS
    tables = fetch(empty_db_dsn, "select table_name from information_schema.tables where table_schema = 'raw' order by 1")
    assert [t["table_name"] for t in tables] == [
        "glossary", "probe_rounds", "probe_sessions", "queue_workers", "round_judgements", "round_labels",
        "session_judgements", "session_semantic_variance", "variance_probe_runs"
    ]
    queue = fetch(empty_db_dsn, "select table_name from information_schema.tables where table_schema = 'public' "
                                "and table_name like 'procrastinate%%' order by 1")
    assert [t["table_name"] for t in queue] == [
        "procrastinate_events", "procrastinate_jobs", "procrastinate_periodic_defers", "procrastinate_workers"
    ]
    public = fetch(empty_db_dsn, "select table_name from information_schema.tables where table_schema = 'public' "
                                 "and table_name like '%%messages' order by 1")
    assert [t["table_name"] for t in public] == [
        "nimmerverse_to_partnership_messages", "partnership_to_nimmerverse_messages"
    ]

    defaults = {
        (r["table_name"], r["column_name"]): r
        for r in fetch(empty_db_dsn, "select * from information_schema.columns where table_schema = 'raw'")
    }
    assert defaults[("probe_sessions", "status")]["column_default"].startswith("'running'")
    assert defaults[("probe_sessions", "started_at")]["column_default"] == "now()"
    assert defaults[("variance_probe_runs", "timestamp")]["column_default"] == "now()"
    assert defaults[("variance_probe_runs", "id")]["is_identity"] == "YES"
    assert defaults[("variance_probe_runs", "id")]["identity_generation"] == "ALWAYS"

    indexes = {r["indexname"] for r in fetch(empty_db_dsn, "select indexname from pg_indexes where schemaname = 'raw'")}
    assert {
        "variance_probe_runs_term_idx",
        "variance_probe_runs_timestamp_idx",
        "runs_session_run_number_key",
        "probe_rounds_pkey",
    } <= indexes
    ts = fetch(empty_db_dsn, "select indexdef from pg_indexes where indexname = 'variance_probe_runs_timestamp_idx'")
    assert '"timestamp" DESC' in ts[0]["indexdef"]

    # every table and column is documented
    snap = schema_snapshot(empty_db_dsn)
    documented = {(c["relname"], c["attname"]) for c in snap["comments"]}
    for table, columns in EXPECTED_COLUMNS.items():
        assert (table, None) in documented
        for column, _, _ in columns:
            assert (table, column) in documented, f"raw.{table}.{column} has no comment"

    # every constraint is named on purpose (no generated *_check / *_fkey names from PostgreSQL)
    names = [c["conname"] for c in snap["constraints"]]
    assert not [n for n in names if n.endswith("_check")], names
    assert {"runs_depth_range", "runs_stop_reason", "runs_chain_starts_with_term", "rounds_run_fkey"} <= set(names)


def test_migrating_twice_is_a_no_op(empty_db_dsn):
    with Store.connect(empty_db_dsn) as store:
        assert store.migrate() == ALL_MIGRATIONS
        before = schema_snapshot(empty_db_dsn)
        assert store.migrate() == []
    with Store.connect(empty_db_dsn) as store:
        assert store.migrate() == []
    assert schema_snapshot(empty_db_dsn) == before


def test_rollback_removes_the_schema_and_migrating_again_restores_it(empty_db_dsn):
    with Store.connect(empty_db_dsn) as store:
        store.migrate()
    before = schema_snapshot(empty_db_dsn)
    backend = get_backend(yoyo_url(empty_db_dsn))
    try:
        migrations = read_migrations(str(migrations_dir()))
        with backend.lock():
            backend.rollback_migrations(backend.to_rollback(migrations))
    finally:
        backend.connection.close()
    assert fetch(empty_db_dsn, "select 1 from pg_namespace where nspname = 'raw'") == []
    with Store.connect(empty_db_dsn) as store:
        assert store.migrate() == ALL_MIGRATIONS
    assert schema_snapshot(empty_db_dsn) == before


def test_concurrent_migrators_apply_each_migration_once(empty_db_dsn):
    code = (
        "import sys, json; from collector.db.store import Store\n"
        "with Store.connect(sys.argv[1]) as s: print(json.dumps(s.migrate()))\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, empty_db_dsn], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]  # fmt: skip
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    applied = sorted(out.strip().splitlines()[-1] for out, _ in results)
    assert applied == sorted([json.dumps(ALL_MIGRATIONS), "[]", "[]"])


def test_migrate_reports_an_unreachable_database():
    from collector.core.errors import DatabaseError

    with pytest.raises(DatabaseError, match="cannot connect"):
        Store.connect("postgresql://nyx:secret@127.0.0.1:1/nyx")


# ---------------------------------------------------------------------------------------------
# invalid rows, inserted with plain SQL
# ---------------------------------------------------------------------------------------------

SID = uuid.UUID("00000000-0000-4000-8000-000000000001")
TERM = "Geworfenheit"


def session_row(**changes) -> dict:
    row = dict(
        session_id=SID, term=TERM, model_name="m", model_revision="r", device="cpu", dtype="float32",
        prompt_template='The word "{term}" means', temperature=0.7, top_p=0.95, top_k=None, max_rounds=3,
        max_new_tokens=64, seed=1, batch_size=8, runs_requested=100, collector_version="0.1.0",
        judge_version="1", hostname="h", pid=1,
    )  # fmt: skip
    row.update(changes)
    return row


def run_row(**changes) -> dict:
    row = dict(
        session_id=SID, term=TERM, run_number=1, depth=1, rounds=2, echo_types=["EXPANDS", "CIRCULAR"],
        chain=[TERM, "a being thrown"], model_name="m", temperature=0.7, max_rounds=3, max_new_tokens=64, seed=7,
    )  # fmt: skip
    row.update(changes)
    return row


def round_row(**changes) -> dict:
    row = dict(
        session_id=SID, run_number=1, round=1, prompt="p", completion="c", echo_type="EXPANDS",
        tokens_generated=5, finish_reason="eos", n_words=3, distinct_ratio=1.0, nonletter_ratio=0.1,
        content_words=2, new_stems=2, novelty=0.5, sim_term=0.3, sim_prev=None,
    )  # fmt: skip
    row.update(changes)
    return row


def insert(conn: psycopg.Connection, table: str, row: dict) -> None:
    query = sql.SQL("insert into raw.{} ({}) values ({})").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, row)),
        sql.SQL(", ").join(sql.Placeholder(k) for k in row),
    )
    conn.execute(query, row)


def stored(conn: psycopg.Connection, table: str, row: dict, where: str) -> dict:
    """The columns of ``row`` as the one row of ``table`` in session SID matching ``where`` holds them."""
    columns = sql.SQL(", ").join(map(sql.Identifier, row))
    query = sql.SQL("select {} from raw.{} where session_id = %s and " + where).format(columns, sql.Identifier(table))
    rows = conn.cursor(row_factory=dict_row).execute(query, [SID]).fetchall()
    assert len(rows) == 1, rows
    return rows[0]


@pytest.fixture(scope="module")
def seeded_dsn(pg_dsn, template_db) -> Iterator[str]:
    """A migrated database holding one valid session, run (number 1) and round (1)."""
    name = f"test_rows_{uuid.uuid4().hex[:12]}"
    dsn = create_database(pg_dsn, name, template=template_db)
    with psycopg.connect(dsn) as conn:  # one transaction: a run has its rounds at commit (0009)
        insert(conn, "probe_sessions", session_row())
        insert(conn, "variance_probe_runs", run_row())
        insert(conn, "probe_rounds", round_row())
        insert(conn, "probe_rounds", round_row(round=2, echo_type="CIRCULAR"))
    yield dsn
    drop_database(pg_dsn, name)


@pytest.fixture
def conn(seeded_dsn) -> Iterator[psycopg.Connection]:
    """A connection whose every change is rolled back after the test."""
    with psycopg.connect(seeded_dsn) as connection:
        yield connection
        connection.rollback()


def long_term() -> str:
    return "x" * 201


INVALID_SESSIONS = [
    ("blank term", dict(term="   "), {"sessions_term_not_blank"}),
    ("empty term", dict(term=""), {"sessions_term_not_blank"}),
    ("term with a tab", dict(term="a\tb"), {"sessions_term_no_control"}),
    ("term with a newline", dict(term="a\nb"), {"sessions_term_no_control"}),
    ("term with C1 control", dict(term="a\u0085b"), {"sessions_term_no_control"}),
    ("term with line separator", dict(term="a\u2028b"), {"sessions_term_no_control"}),
    ("term of 201 characters", dict(term=long_term()), {"sessions_term_length"}),
    ("template without {term}", dict(prompt_template="The word means"), {"sessions_prompt_template_has_term"}),
    ("negative temperature", dict(temperature=-0.1), {"sessions_temperature_range"}),
    ("NaN temperature", dict(temperature=math.nan), {"sessions_temperature_range"}),
    ("infinite temperature", dict(temperature=math.inf), {"sessions_temperature_range"}),
    ("top_p 0", dict(top_p=0.0), {"sessions_top_p_range"}),
    ("top_p above 1", dict(top_p=1.01), {"sessions_top_p_range"}),
    ("top_p NaN", dict(top_p=math.nan), {"sessions_top_p_range"}),
    ("top_k 0", dict(top_k=0), {"sessions_top_k_positive"}),
    ("max_rounds 0", dict(max_rounds=0), {"sessions_max_rounds_range"}),
    ("max_rounds 4", dict(max_rounds=4), {"sessions_max_rounds_range"}),
    ("max_new_tokens 0", dict(max_new_tokens=0), {"sessions_max_new_tokens_positive"}),
    ("batch_size 0", dict(batch_size=0), {"sessions_batch_size_positive"}),
    ("runs_requested 0", dict(runs_requested=0), {"sessions_runs_requested_positive"}),
    ("unknown status", dict(status="done", finished_at="2030-01-01"), {"sessions_status_known"}),
    ("completed without finished_at", dict(status="completed"), {"sessions_finished_iff_not_running"}),
    ("running with finished_at", dict(finished_at="2030-01-01"), {"sessions_finished_iff_not_running"}),
    (
        "finished before started",
        dict(status="failed", started_at="2030-01-02", finished_at="2030-01-01"),
        {"sessions_finished_after_start"},
    ),
    ("judge_settings not an object", dict(judge_settings=Jsonb(["m"])), {"sessions_judge_settings_shape"}),
    ("judge_settings without the model", dict(judge_settings=Jsonb({"prompt_version": "p", "decoding": {}})),
     {"sessions_judge_settings_shape"}),
    ("judge_settings without the decoding", dict(judge_settings=Jsonb({"model": "m", "prompt_version": "p"})),
     {"sessions_judge_settings_shape"}),
    ("judge_settings over 16 KiB",
     dict(judge_settings=Jsonb({"model": "m", "prompt_version": "p", "decoding": {}, "x": "y" * 16400})),
     {"sessions_judge_settings_shape"}),
]  # fmt: skip


@pytest.mark.parametrize("case, changes, constraints", INVALID_SESSIONS, ids=[c[0] for c in INVALID_SESSIONS])
def test_invalid_session_rows_are_refused(conn, case, changes, constraints):
    with pytest.raises(pg_errors.CheckViolation) as info:
        insert(conn, "probe_sessions", session_row(session_id=uuid.uuid4(), **changes))
    assert info.value.diag.constraint_name in constraints


SETTINGS = {"model": "qwen2.5-7b-instruct", "prompt_version": "llm-1/p1", "decoding": {"temperature": 0}}


def test_judge_settings_are_recorded_as_objects_and_refused_otherwise(conn):
    """A served judge's settings: an object with the model, prompt version and decoding, on a session
    and on a re-judgement; anything else is refused."""
    sid = uuid.uuid4()
    insert(conn, "probe_sessions", session_row(session_id=sid, judge_settings=Jsonb(SETTINGS)))
    stored = conn.execute("select judge_settings from raw.probe_sessions where session_id = %s", [sid]).fetchone()
    assert stored[0] == SETTINGS
    judgement = dict(session_id=SID, judge_version="llm-1", judge_mode="frame", encoder="qwen (llm-1/p1)",
                     rounds_judged=2, collector_version="0.1.0")
    with pytest.raises(pg_errors.CheckViolation) as info:
        insert(conn, "session_judgements", {**judgement, "judge_settings": Jsonb({"model": "m"})})
    assert info.value.diag.constraint_name == "session_judgements_judge_settings_shape"
    conn.rollback()
    insert(conn, "session_judgements", {**judgement, "judge_settings": Jsonb(SETTINGS)})
    insert(conn, "session_judgements", {**judgement, "judge_version": "ref-2", "judge_settings": None})


CONT = ["EXPANDS", "CONFIRMS"]

INVALID_RUNS = [
    ("depth 4", dict(depth=4, rounds=3, echo_types=CONT + ["EXPANDS"], chain=[TERM, "a", "b", "c", "d"]),
     {"runs_depth_range", "runs_depth_le_rounds", "runs_stop_reason"}),
    ("depth -1", dict(depth=-1, rounds=1, echo_types=["COLLAPSE"], chain=[]),
     {"runs_depth_range", "runs_chain_length", "runs_chain_shape", "runs_chain_starts_with_term", "runs_stop_reason",
      "runs_leading_types_continue"}),
    ("rounds 0", dict(depth=0, rounds=0, echo_types=[], chain=[TERM]),
     {"runs_rounds_range", "runs_echo_types_shape", "runs_stop_reason"}),
    ("depth > rounds", dict(depth=2, rounds=1, max_rounds=1, echo_types=["EXPANDS"], chain=[TERM, "a", "b"]),
     {"runs_depth_le_rounds", "runs_stop_reason"}),
    ("echo_types longer than rounds", dict(echo_types=["EXPANDS", "CIRCULAR", "CIRCULAR"]), {"runs_echo_types_length"}),
    ("echo_types shorter than rounds", dict(echo_types=["EXPANDS"]), {"runs_echo_types_length", "runs_stop_reason"}),
    ("empty echo_types", dict(depth=0, rounds=1, echo_types=[], chain=[TERM]),
     {"runs_echo_types_length", "runs_echo_types_shape", "runs_stop_reason"}),
    ("unknown echo type", dict(echo_types=["EXPANDS", "BORING"]), {"runs_echo_types_known"}),
    ("lower-case echo type", dict(echo_types=["expands", "CIRCULAR"]),
     {"runs_echo_types_known", "runs_leading_types_continue"}),
    ("NULL in echo_types", dict(echo_types=["EXPANDS", None]),
     {"runs_echo_types_no_null", "runs_echo_types_known", "runs_stop_reason"}),
    ("two-dimensional echo_types", dict(echo_types=[["EXPANDS"], ["CIRCULAR"]]),
     {"runs_echo_types_shape", "runs_stop_reason", "runs_leading_types_continue"}),
    ("echo_types subscripts from 0", dict(echo_types="[0:1]={EXPANDS,CIRCULAR}"),
     {"runs_echo_types_shape", "runs_stop_reason", "runs_leading_types_continue"}),
    ("two-dimensional chain", dict(chain=[[TERM], ["a"]]), {"runs_chain_shape", "runs_chain_starts_with_term"}),
    ("chain shorter than depth + 1", dict(chain=[TERM]), {"runs_chain_length"}),
    ("chain longer than depth + 1", dict(chain=[TERM, "a", "b"]), {"runs_chain_length"}),
    ("chain[1] is not the term", dict(chain=["Vernunft", "a"]), {"runs_chain_starts_with_term"}),
    ("NULL in chain", dict(chain=[TERM, None]), {"runs_chain_no_null"}),
    ("NULL chain[1]", dict(chain=[None, "a"]), {"runs_chain_no_null", "runs_chain_starts_with_term"}),
    ("blank term", dict(term="  ", chain=["  ", "a"]), {"runs_term_not_blank"}),
    ("term with control character", dict(term="a\x07b", chain=["a\x07b", "a"]), {"runs_term_no_control"}),
    ("term of 201 characters", dict(term=long_term(), chain=[long_term(), "a"]), {"runs_term_length"}),
    ("rounds > max_rounds", dict(max_rounds=2, depth=2, rounds=3, echo_types=CONT + ["CIRCULAR"],
                                 chain=[TERM, "a", "b"]), {"runs_rounds_le_max_rounds"}),
    ("max_rounds 4", dict(max_rounds=4), {"runs_max_rounds_range"}),
    ("depth < rounds but the last type continues", dict(echo_types=["EXPANDS", "CONFIRMS"]), {"runs_stop_reason"}),
    ("depth = rounds < max_rounds", dict(depth=2, rounds=2, echo_types=CONT, chain=[TERM, "a", "b"]),
     {"runs_stop_reason"}),
    ("depth 0 but a continuing single round", dict(depth=0, rounds=1, echo_types=["EXPANDS"], chain=[TERM]),
     {"runs_stop_reason"}),
    ("rounds > depth + 1", dict(depth=0, rounds=2, echo_types=["CIRCULAR", "COLLAPSE"], chain=[TERM]),
     {"runs_stop_reason"}),
    ("a stopping type before depth", dict(echo_types=["DIVERGENT", "COLLAPSE"]), {"runs_leading_types_continue"}),
    ("full chain whose depth stops short of its continuing rounds",
     dict(depth=1, rounds=3, echo_types=["EXPANDS", "CONFIRMS", "DIVERGENT"], chain=[TERM, "a"]), {"runs_stop_reason"}),
    ("full chain whose depth counts past a break",
     dict(depth=2, rounds=3, echo_types=["EXPANDS", "DIVERGENT", "EXPANDS"], chain=[TERM, "a", "b"]),
     {"runs_leading_types_continue"}),
    ("stopped before max_rounds after two breaks",
     dict(depth=0, rounds=2, echo_types=["DIVERGENT", "CIRCULAR"], chain=[TERM]), {"runs_stop_reason"}),
    ("run_number 0", dict(run_number=0), {"runs_run_number_positive"}),
    ("negative temperature", dict(temperature=-1.0), {"runs_temperature_range"}),
    ("NaN temperature", dict(temperature=math.nan), {"runs_temperature_range"}),
    ("max_new_tokens 0", dict(max_new_tokens=0), {"runs_max_new_tokens_positive"}),
]  # fmt: skip


@pytest.mark.parametrize("case, changes, constraints", INVALID_RUNS, ids=[c[0] for c in INVALID_RUNS])
def test_invalid_run_rows_are_refused(conn, case, changes, constraints):
    with pytest.raises(pg_errors.CheckViolation) as info:
        insert(conn, "variance_probe_runs", run_row(run_number=changes.pop("run_number", 2), **changes))
    assert info.value.diag.constraint_name in constraints


def test_duplicate_run_number_is_refused(conn):
    with pytest.raises(pg_errors.UniqueViolation) as info:
        insert(conn, "variance_probe_runs", run_row(run_number=1))
    assert info.value.diag.constraint_name == "runs_session_run_number_key"


def test_run_of_an_unknown_session_is_refused(conn):
    with pytest.raises(pg_errors.ForeignKeyViolation) as info:
        insert(conn, "variance_probe_runs", run_row(session_id=uuid.uuid4(), run_number=2))
    assert info.value.diag.constraint_name == "runs_session_fkey"


def test_run_whose_term_is_not_its_sessions_term_is_refused(conn):
    with pytest.raises(pg_errors.ForeignKeyViolation) as info:
        insert(conn, "variance_probe_runs", run_row(run_number=2, term="Vernunft", chain=["Vernunft", "a"]))
    assert info.value.diag.constraint_name == "runs_session_fkey"


def test_id_is_generated_always(conn):
    with pytest.raises(pg_errors.GeneratedAlways):
        insert(conn, "variance_probe_runs", run_row(run_number=2, id=99))


VALID_RUNS = [
    ("depth 0, stopped at once", dict(depth=0, rounds=1, echo_types=["COLLAPSE"], chain=[TERM])),
    ("depth 1, stopped in round 2", dict()),
    ("depth 2, stopped in round 3", dict(depth=2, rounds=3, echo_types=CONT + ["DIVERGENT"], chain=[TERM, "a", "b"])),
    ("depth 3 = max_rounds", dict(depth=3, rounds=3, echo_types=["EXPANDS"] * 3, chain=[TERM, "a", "b", "c"])),
    ("depth 1 = max_rounds 1", dict(depth=1, rounds=1, max_rounds=1, echo_types=["CONFIRMS"], chain=[TERM, "a"])),
    ("depth 0 of max_rounds 1", dict(depth=0, rounds=1, max_rounds=1, echo_types=["CIRCULAR"], chain=[TERM])),
    ("greedy", dict(temperature=0.0)),
    ("a chain that repeats itself", dict(depth=2, rounds=2, max_rounds=2, echo_types=CONT, chain=[TERM, TERM, TERM])),
    ("full chain, depth 0, later rounds continue", dict(depth=0, rounds=3, echo_types=["DIVERGENT", "EXPANDS", "EXPANDS"],
                                                       chain=[TERM])),
    ("full chain, depth 1", dict(depth=1, rounds=3, echo_types=["EXPANDS", "COLLAPSE", "CONFIRMS"],
                                 chain=[TERM, "a"])),
    ("full chain, depth 2 of 3", dict(depth=2, rounds=3, echo_types=CONT + ["CIRCULAR"], chain=[TERM, "a", "b"])),
]  # fmt: skip


@pytest.mark.parametrize("case, changes", VALID_RUNS, ids=[c[0] for c in VALID_RUNS])
def test_valid_run_rows_are_accepted(conn, case, changes):
    row = run_row(run_number=2, **changes)
    insert(conn, "variance_probe_runs", row)
    assert stored(conn, "variance_probe_runs", row, "run_number = 2") == row


INVALID_ROUNDS = [
    ("round 0", dict(round=0), pg_errors.CheckViolation, {"rounds_round_range"}),
    ("round 4", dict(round=4), pg_errors.CheckViolation, {"rounds_round_range"}),
    ("unknown echo type", dict(echo_type="BORING"), pg_errors.CheckViolation, {"rounds_echo_type_known"}),
    ("negative tokens", dict(tokens_generated=-1), pg_errors.CheckViolation, {"rounds_tokens_generated_nonnegative"}),
    ("unknown finish reason", dict(finish_reason="stop"), pg_errors.CheckViolation, {"rounds_finish_reason_known"}),
    ("negative n_words", dict(n_words=-1), pg_errors.CheckViolation, {"rounds_n_words_nonnegative"}),
    ("distinct_ratio above 1", dict(distinct_ratio=1.5), pg_errors.CheckViolation, {"rounds_distinct_ratio_range"}),
    ("distinct_ratio NaN", dict(distinct_ratio=math.nan), pg_errors.CheckViolation, {"rounds_distinct_ratio_range"}),
    ("negative nonletter_ratio", dict(nonletter_ratio=-0.1), pg_errors.CheckViolation,
     {"rounds_nonletter_ratio_range"}),
    ("negative content_words", dict(content_words=-1), pg_errors.CheckViolation,
     {"rounds_content_words_nonnegative"}),
    ("negative new_stems", dict(new_stems=-2), pg_errors.CheckViolation, {"rounds_new_stems_nonnegative"}),
    ("novelty above 1", dict(novelty=1.2), pg_errors.CheckViolation, {"rounds_novelty_range"}),
    ("sim_term above 1", dict(sim_term=1.01), pg_errors.CheckViolation, {"rounds_sim_term_range"}),
    ("sim_prev below -1", dict(sim_prev=-1.01), pg_errors.CheckViolation, {"rounds_sim_prev_range"}),
    ("sim_prev NaN", dict(sim_prev=math.nan), pg_errors.CheckViolation, {"rounds_sim_prev_range"}),
    ("round of an unknown run", dict(run_number=99), pg_errors.ForeignKeyViolation, {"rounds_run_fkey"}),
    ("round of an unknown session", dict(session_id=uuid.uuid4()), pg_errors.ForeignKeyViolation,
     {"rounds_run_fkey"}),
    ("duplicate round", dict(round=1), pg_errors.UniqueViolation, {"probe_rounds_pkey"}),
]  # fmt: skip


@pytest.fixture
def open_run(conn) -> psycopg.Connection:
    """``conn`` with run 2 (a full chain of three rounds) and its round 1 inserted, in the open
    transaction: its rounds 2 and 3 may follow (the run must have them only at commit)."""
    insert(conn, "variance_probe_runs", run_row(run_number=2, depth=1, rounds=3,
                                                echo_types=["EXPANDS", "CIRCULAR", "CIRCULAR"]))
    insert(conn, "probe_rounds", round_row(run_number=2))
    return conn


@pytest.mark.parametrize("case, changes, error, constraints", INVALID_ROUNDS, ids=[c[0] for c in INVALID_ROUNDS])
def test_invalid_round_rows_are_refused(open_run, case, changes, error, constraints):
    changes = {"run_number": 2, "round": 2, **changes}
    with pytest.raises(error) as info:
        insert(open_run, "probe_rounds", round_row(**changes))
    assert info.value.diag.constraint_name in constraints


def test_valid_round_rows_are_accepted(open_run):
    row = round_row(run_number=2, round=2, echo_type="CIRCULAR", sim_term=-1.0, sim_prev=1.0, distinct_ratio=0.0,
                    novelty=1.0, finish_reason="length")  # fmt: skip
    insert(open_run, "probe_rounds", row)
    assert stored(open_run, "probe_rounds", row, "run_number = 2 and round = 2") == row


def test_deleting_a_session_removes_its_runs_and_rounds(conn):
    conn.execute("delete from raw.probe_sessions where session_id = %s", [SID])
    assert conn.execute("select count(*) from raw.probe_rounds").fetchone()[0] == 0
    assert conn.execute("select count(*) from raw.variance_probe_runs").fetchone()[0] == 0


# ---------------------------------------------------------------------------------------------
# the glossary's glosses (0012)
# ---------------------------------------------------------------------------------------------


def glossary_row(**changes) -> dict:
    row = dict(term="Aufhebung", version=1, language="de", reference="Sublation.",
               glosses=["sublation", "abolition"], glosses_de=["Aufheben"])
    row.update(changes)
    return row


INVALID_GLOSSES = [
    ("blank gloss", dict(glosses=["sublation", "   "]), {"glossary_glosses_not_blank"}),
    ("empty gloss", dict(glosses=[""]), {"glossary_glosses_not_blank"}),
    ("gloss of 201 characters", dict(glosses=["x" * 201]), {"glossary_glosses_length"}),
    ("gloss with a newline", dict(glosses=["a\nb"]), {"glossary_glosses_no_control"}),
    ("gloss with a C1 control", dict(glosses=["a\u0085b"]), {"glossary_glosses_no_control"}),
    ("gloss with a line separator", dict(glosses=["a\u2028b"]), {"glossary_glosses_no_control"}),
    ("NULL gloss", dict(glosses=["sublation", None]), {"glossary_glosses_no_null"}),
    ("21 glosses", dict(glosses=[f"g{i}" for i in range(21)]), {"glossary_glosses_count"}),
    ("two-dimensional glosses", dict(glosses=[["a"], ["b"]]), {"glossary_glosses_shape"}),
    ("glosses subscripted from 0", dict(glosses="[0:1]={a,b}"), {"glossary_glosses_shape"}),
    ("blank German gloss", dict(glosses_de=[" "]), {"glossary_glosses_de_not_blank"}),
    ("German gloss of 201 characters", dict(glosses_de=["ä" * 201]), {"glossary_glosses_de_length"}),
    ("German gloss with a tab", dict(glosses_de=["a\tb"]), {"glossary_glosses_de_no_control"}),
    ("NULL German gloss", dict(glosses_de=[None]), {"glossary_glosses_de_no_null"}),
    ("21 German glosses", dict(glosses_de=[f"g{i}" for i in range(21)]), {"glossary_glosses_de_count"}),
    ("two-dimensional German glosses", dict(glosses_de=[["a"], ["b"]]), {"glossary_glosses_de_shape"}),
]  # fmt: skip


@pytest.mark.parametrize("case, changes, constraints", INVALID_GLOSSES, ids=[c[0] for c in INVALID_GLOSSES])
def test_invalid_glosses_are_refused(conn, case, changes, constraints):
    with pytest.raises(pg_errors.CheckViolation) as info:
        insert(conn, "glossary", glossary_row(**changes))
    assert info.value.diag.constraint_name in constraints


def test_glosses_within_the_limits_are_accepted_and_default_to_none(conn):
    insert(conn, "glossary", glossary_row(glosses=["x" * 200] + [f"g{i}" for i in range(19)],
                                          glosses_de=["Aufheben; 'x' \"y\" 🌀"]))
    insert(conn, "glossary", {"term": "Pflicht", "version": 1, "language": "de", "reference": "Duty."})
    rows = conn.execute("select term, glosses, glosses_de from raw.glossary order by term").fetchall()
    assert rows[0][1][0] == "x" * 200 and len(rows[0][1]) == 20 and rows[0][2] == ["Aufheben; 'x' \"y\" 🌀"]
    assert rows[1] == ("Pflicht", [], [])


def test_glossary_rows_from_before_0012_keep_working_and_rolling_it_back_keeps_them(empty_db_dsn, tmp_path):
    before = tmp_path / "migrations"
    before.mkdir()
    for path in migration_files():
        if path.name < "0012":
            (before / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    with Store.connect(empty_db_dsn) as store:
        assert store.migrate(before)[-1] == "0011_stopping_rule"
    with psycopg.connect(empty_db_dsn) as old:
        insert(old, "glossary", {"term": "Pflicht", "version": 1, "language": "de", "reference": "Duty."})
    with Store.connect(empty_db_dsn) as store:
        assert store.migrate() == ALL_MIGRATIONS[ALL_MIGRATIONS.index("0012_glosses"):]
        assert store.reference_for("Pflicht")["glosses"] == []
    assert fetch(empty_db_dsn, "select glosses, glosses_de from raw.glossary") == [{"glosses": [], "glosses_de": []}]

    backend = get_backend(yoyo_url(empty_db_dsn))
    try:
        migrations = read_migrations(str(migrations_dir()))
        with backend.lock():
            backend.rollback_migrations(backend.to_rollback(migrations.filter(lambda m: m.id == "0012_glosses")))
    finally:
        backend.connection.close()
    kept = fetch(empty_db_dsn, "select term, reference from raw.glossary")
    assert kept == [{"term": "Pflicht", "reference": "Duty."}]
    assert "glosses" not in {c for c, _, _ in raw_columns(empty_db_dsn)["glossary"]}
    assert fetch(empty_db_dsn, "select 1 from pg_proc where proname = 'glosses_matching'") == []


def test_sessions_from_before_0015_keep_their_judge_under_its_new_name(empty_db_dsn, tmp_path):
    before = tmp_path / "migrations"
    before.mkdir()
    for path in migration_files():
        if path.name < "0015":
            (before / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    with Store.connect(empty_db_dsn) as store:
        assert store.migrate(before)[-1] == "0014_mean_depth_interval"
    old_row = session_row()
    old_row.pop("judge_version")
    with psycopg.connect(empty_db_dsn) as old:  # what a collector of that time wrote
        insert(old, "probe_sessions", {**old_row, "classifier_version": "rules-1"})
    with Store.connect(empty_db_dsn) as store:
        assert store.migrate()[:2] == ["0015_judge_version", "0016_interval_z"]
    assert fetch(empty_db_dsn, "select judge_version from raw.probe_sessions") == [{"judge_version": "rules-1"}]
    with psycopg.connect(empty_db_dsn) as conn, pytest.raises(psycopg.errors.UndefinedColumn):
        insert(conn, "probe_sessions", {**old_row, "session_id": uuid.uuid4(), "classifier_version": "ref-2"})


def test_a_collector_refuses_a_database_migrated_by_a_newer_one(empty_db_dsn, tmp_path):
    from collector.core.errors import DatabaseError

    newer = tmp_path / "migrations"
    newer.mkdir()
    for path in migration_files():
        (newer / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (newer / "0099_from_the_future.sql").write_text(
        "-- depends: 0015_judge_version\nalter table raw.probe_sessions add column later text;\n", encoding="utf-8")
    with Store.connect(empty_db_dsn) as store:
        assert store.migrate(newer)[-1] == "0099_from_the_future"
    before = schema_snapshot(empty_db_dsn)
    with Store.connect(empty_db_dsn) as store, pytest.raises(DatabaseError) as refused:
        store.migrate()
    assert "0099_from_the_future" in str(refused.value) and "upgrade nyx-collect" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert schema_snapshot(empty_db_dsn) == before


INTERVAL_CALLS = {  # function: (arguments before 0016, the same with z)
    "depth_mean_ci_half_width": ("v, n, r", "v, n, r, %(z)s"),
    "depth_mean_ci_low": ("m, v, n, r", "m, v, n, r, %(z)s"),
    "depth_mean_ci_high": ("m, v, n, r", "m, v, n, r, %(z)s"),
    "depth_mean_diff_ci_low": ("m - 1.5, sqrt(v / nullif(n, 0)), r", "m - 1.5, sqrt(v / nullif(n, 0)), r, %(z)s"),
    "depth_mean_diff_ci_high": ("m - 1.5, sqrt(v / nullif(n, 0)), r", "m - 1.5, sqrt(v / nullif(n, 0)), r, %(z)s"),
}
INTERVAL_GRID = """from unnest(array[null, 0, 0.25, 1, 1.5, 2.75, 3]::float8[]) as m
                   cross join unnest(array[null, 0, 0.01, 0.5, 1.25, 2.25, 4]::float8[]) as v
                   cross join unnest(array[0, 1, 2, 3, 7, 12, 100, 20000]::int8[]) as n
                   cross join unnest(array[0, 1, 3, 10]::float8[]) as r
                   order by m nulls first, v nulls first, n, r"""


def test_0016_gives_the_interval_functions_z_and_keeps_their_values_at_z95(empty_db_dsn, tmp_path):
    from collector.core.dbt_vars import dbt_var

    z95 = dbt_var("z95")
    assert z95 == 1.959963984540054
    before = tmp_path / "migrations"
    before.mkdir()
    for path in migration_files():
        if path.name < "0016":
            (before / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    with Store.connect(empty_db_dsn) as store:
        assert store.migrate(before)[-1] == "0015_judge_version"
    columns = ", ".join(f"stats.{f}({old}) as {f}" for f, (old, _new) in INTERVAL_CALLS.items())
    old_values = fetch(empty_db_dsn, f"select {columns} {INTERVAL_GRID}")
    with Store.connect(empty_db_dsn) as store:
        assert store.migrate()[0] == "0016_interval_z"
    columns = ", ".join(f"stats.{f}({new}) as {f}" for f, (_old, new) in INTERVAL_CALLS.items())
    assert fetch(empty_db_dsn, f"select {columns} {INTERVAL_GRID}", {"z": z95}) == old_values  # exactly
    assert len(old_values) == 7 * 7 * 8 * 4 and any(row["depth_mean_ci_low"] for row in old_values)
    wider = fetch(empty_db_dsn, "select stats.depth_mean_ci_half_width(1.0, 4, 3, %(z)s) as half", {"z": 2 * z95})
    assert wider == [{"half": pytest.approx(2 * z95 * math.sqrt(2.25 / 4))}]  # z is used, not a copy of z95
    # the old signatures are gone: nothing can use a second copy of z95
    for f, (old, _new) in INTERVAL_CALLS.items():
        with psycopg.connect(empty_db_dsn) as conn, pytest.raises(psycopg.errors.UndefinedFunction):
            conn.execute(f"select stats.{f}({old}) {INTERVAL_GRID}")
