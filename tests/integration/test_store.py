"""collector.db.store and collector.db.dsn against a real PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from yoyo.connections import parse_uri

from collector.db.dsn import mask_dsn, resolve_dsn
from collector.core.errors import DatabaseError, InputError, SessionNotFound
from collector.core.records import EchoType, RoundRecord, RunRecord, SessionRecord, SessionStatus
from collector.db.store import Store, queries, short_reason, yoyo_url
from tests.cli_helpers import table_counts
from tests.schema import ALL_MIGRATIONS

E, C, CI, D, CO = EchoType.EXPANDS, EchoType.CONFIRMS, EchoType.CIRCULAR, EchoType.DIVERGENT, EchoType.COLLAPSE

TRICKY_TERMS = [
    "'); DROP TABLE raw.variance_probe_runs; --",
    "O'Brien said \"hi\"; then; left",
    "Geworfenheit",
    "Grüße, Äußerung, Übermaß",
    "存在と時間",
    "👩‍🔬 🌀 🇩🇪",
    "back\\slash \\N NULL {a,b} \"q\" %s %(term)s {term}",
    "NULL",
]


def make_session(term: str = "Geworfenheit", **changes) -> SessionRecord:
    fields = dict(
        term=term, model_name="tiny/model", model_revision="abc123", device="cpu", dtype="float32",
        prompt_template='The word "{term}" means', temperature=0.8, top_p=0.9, top_k=None, max_rounds=3,
        max_new_tokens=16, seed=42, batch_size=4, runs_requested=10, collector_version="0.1.0",
        judge_version="c1", hostname="host", pid=1234,
    )  # fmt: skip
    fields.update(changes)
    return SessionRecord(**fields)


def make_round(n: int, echo: EchoType, prompt: str = "prompt", completion: str = "completion", **changes) -> RoundRecord:
    fields = dict(
        round=n, prompt=prompt, completion=completion, echo_type=echo, tokens_generated=7, finish_reason="eos",
        n_words=3, distinct_ratio=0.75, nonletter_ratio=0.125, content_words=2, new_stems=1, novelty=0.5,
        sim_term=0.25, sim_prev=-0.5,
    )  # fmt: skip
    fields.update(changes)
    return RoundRecord(**fields)


def make_run(session: SessionRecord, run_number: int, types: list[EchoType], texts: list[str] | None = None,
             depth: int | None = None, **round_changes) -> RunRecord:  # fmt: skip
    """A run whose rounds have ``types``; completions are ``texts`` (or generated ones)."""
    texts = texts or [f"completion {run_number}.{i}" for i in range(1, len(types) + 1)]
    rounds, chain, prompt = [], [session.term], session.prompt_template.replace("{term}", session.term)
    for i, (echo, text) in enumerate(zip(types, texts), start=1):
        rounds.append(make_round(i, echo, prompt=prompt, completion=text, **round_changes))
        if echo.continues:
            chain.append(text)
            prompt = text
    computed_depth = len(chain) - 1
    return RunRecord(
        session_id=session.session_id, term=session.term, run_number=run_number, seed=1000 + run_number,
        depth=computed_depth if depth is None else depth, rounds=rounds, chain=chain, model_name=session.model_name,
        temperature=session.temperature, max_rounds=session.max_rounds, max_new_tokens=session.max_new_tokens,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# roundtrip
# ---------------------------------------------------------------------------------------------


def test_session_runs_and_rounds_roundtrip(store):
    session = make_session()
    store.create_session(session)
    row = store.get_session(session.session_id)
    assert row["status"] == "running" and row["finished_at"] is None and row["runs_stored"] == 0
    for key, value in session.model_dump().items():
        assert row[key] == value, key

    runs = [
        make_run(session, 1, [CO]),
        make_run(session, 2, [E, CI]),
        make_run(session, 3, [E, C, D]),
        make_run(session, 4, [E, E, C]),
        make_run(session, 5, [C, CI]),
    ]
    store.write_runs(runs[:2])
    store.write_runs(runs[2:])
    assert store.count_runs(session.session_id) == 5
    assert store.depth_counts(session.session_id) == {0: 1, 1: 2, 2: 1, 3: 1}

    stored = store.fetch_runs(str(session.session_id))
    assert [r["run_number"] for r in stored] == [1, 2, 3, 4, 5]
    for got, want in zip(stored, runs):
        assert got["session_id"] == session.session_id
        assert got["echo_types"] == want.echo_types
        assert got["chain"] == want.chain
        assert (got["depth"], got["rounds"], got["seed"]) == (want.depth, len(want.rounds), want.seed)
        assert got["timestamp"] is not None and got["id"] > 0

    rounds = store.fetch_rounds(session.session_id)
    assert len(rounds) == sum(len(r.rounds) for r in runs)
    first = rounds[0]
    want = runs[0].rounds[0]
    assert (first["run_number"], first["round"], first["echo_type"]) == (1, 1, "COLLAPSE")
    assert first["prompt"] == want.prompt and first["completion"] == want.completion
    assert first["distinct_ratio"] == pytest.approx(0.75) and first["sim_prev"] == pytest.approx(-0.5)
    assert [(r["run_number"], r["round"]) for r in rounds] == sorted((r["run_number"], r["round"]) for r in rounds)

    store.finish_session(session.session_id, SessionStatus.COMPLETED)
    row = store.get_session(session.session_id)
    assert row["status"] == "completed" and row["finished_at"] >= row["started_at"] and row["error"] is None
    listed = [s for s in store.list_sessions() if s["session_id"] == session.session_id]
    assert listed and listed[0]["runs_stored"] == 5


def test_run_timestamp_is_kept_when_given(store):
    session = make_session()
    store.create_session(session)
    when = datetime(2030, 5, 17, 12, 0, tzinfo=timezone.utc)
    store.write_runs([make_run(session, 1, [CO]).model_copy(update={"finished_at": when})])
    assert store.fetch_runs(session.session_id)[0]["timestamp"] == when


@pytest.mark.parametrize("term", TRICKY_TERMS)
def test_terms_and_texts_are_stored_verbatim(store, term):
    session = make_session(term, prompt_template="{term}")
    store.create_session(session)
    texts = [f"{term}\n\ttab\\N \\. end", "NULL", "{x,\"y\"}\r\nline"]
    run = make_run(session, 1, [E, C, CI], texts=texts)
    store.write_runs([run])
    assert store.get_session(session.session_id)["term"] == term
    stored = store.fetch_runs(session.session_id)[0]
    assert stored["chain"] == [term, texts[0], texts[1]]
    rounds = store.fetch_rounds(session.session_id)
    assert [r["completion"] for r in rounds] == texts
    assert rounds[0]["prompt"] == term
    # and the tables are still there
    assert store.count_runs(session.session_id) == 1


def test_nul_characters_are_stored_as_replacement_characters(store):
    session = make_session()
    store.create_session(session)
    store.write_runs([make_run(session, 1, [E, CI], texts=["a\x00b", "c\x00"])])
    assert store.fetch_runs(session.session_id)[0]["chain"][1] == "a\ufffdb"
    assert [r["completion"] for r in store.fetch_rounds(session.session_id)] == ["a\ufffdb", "c\ufffd"]


def test_finish_session_records_status_and_error(store):
    session = make_session()
    store.create_session(session)
    store.finish_session(str(session.session_id), SessionStatus.FAILED, error="RuntimeError: boom")
    row = store.get_session(session.session_id)
    assert (row["status"], row["error"]) == ("failed", "RuntimeError: boom")
    with pytest.raises(ValueError):
        store.finish_session(session.session_id, SessionStatus.RUNNING)
    with pytest.raises(SessionNotFound):
        store.finish_session(uuid.uuid4(), SessionStatus.COMPLETED)


def test_unknown_and_malformed_session_ids(store):
    assert store.get_session(uuid.uuid4()) is None
    assert store.count_runs(uuid.uuid4()) == 0
    assert store.fetch_runs(uuid.uuid4()) == []
    with pytest.raises(InputError, match="not a session id"):
        store.get_session("not-a-uuid'; drop table x")


def test_list_sessions_newest_first_with_limit(store):
    sessions = [make_session(f"term {i}") for i in range(3)]
    for s in sessions:
        store.create_session(s)
    listed = store.list_sessions(limit=2)
    assert len(listed) == 2
    assert listed[0]["started_at"] >= listed[1]["started_at"]
    assert {s["runs_stored"] for s in listed} == {0}


# ---------------------------------------------------------------------------------------------
# atomicity and error messages
# ---------------------------------------------------------------------------------------------


def test_write_runs_is_atomic_when_a_round_is_invalid(store):
    session = make_session()
    store.create_session(session)
    good = [make_run(session, 1, [E, CI]), make_run(session, 3, [CO])]
    bad = make_run(session, 2, [E, C, CI], distinct_ratio=1.5)  # violates rounds_distinct_ratio_range
    with pytest.raises(DatabaseError) as info:
        store.write_runs([good[0], bad, good[1]])
    message = str(info.value)
    assert "\n" not in message
    assert "rounds_distinct_ratio_range" in message and "(run 2)" in message and "nothing" in message
    assert isinstance(info.value.__cause__, psycopg.errors.CheckViolation)
    assert store.count_runs(session.session_id) == 0
    assert store.fetch_rounds(session.session_id) == []
    store.write_runs(good)  # the connection is usable afterwards
    assert store.count_runs(session.session_id) == 2


def test_write_runs_is_atomic_when_a_run_is_invalid(store):
    session = make_session()
    store.create_session(session)
    bad = make_run(session, 2, [E, CI], depth=2)  # a chain of 2 steps with one continuing round
    with pytest.raises(DatabaseError) as info:
        store.write_runs([make_run(session, 1, [CO]), bad])
    assert "run 2" in str(info.value) and "check constraint runs_" in str(info.value)
    assert store.count_runs(session.session_id) == 0


def test_write_runs_refuses_a_duplicate_run_and_keeps_the_earlier_batch(store):
    session = make_session()
    store.create_session(session)
    store.write_runs([make_run(session, 1, [CO])])
    with pytest.raises(DatabaseError, match="runs_session_run_number_key"):
        store.write_runs([make_run(session, 2, [CO]), make_run(session, 1, [CO])])
    assert [r["run_number"] for r in store.fetch_runs(session.session_id)] == [1]


def test_write_runs_for_an_unknown_session(store):
    with pytest.raises(DatabaseError, match="runs_session_fkey"):
        store.write_runs([make_run(make_session(), 1, [CO])])


def test_write_no_runs_is_a_no_op(store, db_dsn):
    store.create_session(make_session())
    store.conn.commit()
    before = table_counts(db_dsn)
    store.write_runs([])
    assert not store.conn.info.transaction_status  # idle: nothing was begun, nothing is pending
    assert table_counts(db_dsn) == before and before["probe_sessions"] == 1


def test_create_session_twice_and_invalid_session(store):
    session = make_session()
    store.create_session(session)
    with pytest.raises(DatabaseError, match="probe_sessions_pkey"):
        store.create_session(session)
    with pytest.raises(DatabaseError, match="sessions_prompt_template_has_term"):
        store.create_session(make_session(prompt_template="no placeholder"))


def test_store_on_an_unmigrated_database(empty_db_dsn):
    with Store.connect(empty_db_dsn) as store:
        with pytest.raises(DatabaseError, match=r"run the migrations first"):
            store.count_runs(uuid.uuid4())
        assert store.migrate() == ALL_MIGRATIONS
        assert store.count_runs(uuid.uuid4()) == 0


def test_lost_connection_is_a_database_error(store, db_dsn):
    pid = store.conn.info.backend_pid
    with psycopg.connect(db_dsn, autocommit=True) as other:
        other.execute("select pg_terminate_backend(%s)", [pid])
    with pytest.raises(DatabaseError) as info:
        store.count_runs(uuid.uuid4())
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "dsn, shown",
    [
        ("postgresql://nyx:s3cret@127.0.0.1:1/nyx", "postgresql://nyx:***@127.0.0.1:1/nyx"),
        ("host=127.0.0.1 port=1 user=nyx password=s3cret dbname=nyx", "password=***"),
    ],
)
def test_connect_to_an_unreachable_server(dsn, shown):
    with pytest.raises(DatabaseError) as info:
        Store.connect(dsn)
    message = str(info.value)
    assert message.startswith("cannot connect to PostgreSQL at ")
    assert shown in message and "s3cret" not in message
    assert message.endswith(": connection refused")
    assert "\n" not in message


def test_connect_to_a_missing_database(pg_dsn):
    dsn = psycopg.conninfo.make_conninfo(pg_dsn, dbname="no_such_database_here")
    with pytest.raises(DatabaseError, match='database "no_such_database_here" does not exist'):
        Store.connect(dsn)


def test_connect_with_a_malformed_dsn_is_an_input_error():
    with pytest.raises(InputError, match="invalid DSN"):
        Store.connect("host=x password=s3cret bogus")


def test_short_reason():
    err = psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 1 failed: Connection refused\n'
        "\tIs the server running on that host and accepting TCP/IP connections?"
    )
    assert short_reason(err) == "connection refused"
    err = psycopg.OperationalError(
        'connection failed: connection to server at "h", port 5432 failed: FATAL:  password authentication '
        'failed for user "nyx"'
    )
    assert short_reason(err) == 'password authentication failed for user "nyx"'


def test_every_query_is_named_once():
    names = set(queries())
    assert {"create_session", "copy_runs", "copy_rounds", "finish_session", "get_session", "list_sessions",
            "count_runs", "fetch_runs", "fetch_rounds", "depth_counts"} <= names  # fmt: skip
    assert all(q.strip() and not q.rstrip().endswith(";") for q in queries().values())


# ---------------------------------------------------------------------------------------------
# DSN helpers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dsn, masked",
    [
        ("postgresql://nyx:s3cret@db.example:5432/nyx", "postgresql://nyx:***@db.example:5432/nyx"),
        ("postgres://nyx@db/nyx", "postgres://nyx@db/nyx"),
        ("postgresql://nyx:p%40ss@db/nyx?sslmode=require", "postgresql://nyx:***@db/nyx?sslmode=require"),
        ("postgresql://nyx:p@ss/word@db/nyx", "postgresql://nyx:***@db/nyx"),
        ("postgresql://db/nyx?user=u&password=s3cret&sslmode=disable",
         "postgresql://db/nyx?user=u&password=***&sslmode=disable"),
        ("postgresql://u:pw@h1:5432,h2:5433/nyx", "postgresql://u:***@h1:5432,h2:5433/nyx"),
        ("postgresql:///nyx?host=/var/run/postgresql", "postgresql:///nyx?host=/var/run/postgresql"),
        ("host=db user=nyx password=s3cret dbname=nyx", "host=db user=nyx password=*** dbname=nyx"),
        ("host=db password='it\\'s s3cret' dbname=nyx", "host=db password=*** dbname=nyx"),
        ("host=db password=s3\\ cret dbname=nyx", "host=db password=*** dbname=nyx"),
        ("host=db password= dbname=nyx", "host=db password= ***"),  # libpq: the password is "dbname=nyx"
        ("host=db password", "host=db password"),
        ("host=db password = 'with space' sslpassword=k3y", "host=db password = *** sslpassword=***"),
        ("  host=db   PASSWORD=s3cret  ", "  host=db   PASSWORD=***  "),
        ("host=db dbname=nyx", "host=db dbname=nyx"),
        ("host=db password='unterminated s3cret", "host=db password=***"),
        ("", ""),
    ],
)  # fmt: skip
def test_mask_dsn(dsn, masked):
    assert mask_dsn(dsn) == masked
    assert "s3cret" not in mask_dsn(dsn) and "k3y" not in mask_dsn(dsn)


RESOLVE_CASES = [
    ("cli wins", "host=a", {"PHOEBE_DSN": "host=b", "PGHOST": "c"}, ("host=a", "--dsn")),
    ("PHOEBE_DSN next", None, {"PHOEBE_DSN": "postgresql://b/db", "PGHOST": "c"}, ("postgresql://b/db", "PHOEBE_DSN")),
    ("PGHOST", None, {"PGHOST": "c"}, ("", "PG* environment")),
    ("PGDATABASE", None, {"PGDATABASE": "d"}, ("", "PG* environment")),
    ("PGSERVICE", None, {"PGSERVICE": "svc"}, ("", "PG* environment")),
    ("PGPORT", None, {"PGPORT": "5433"}, ("", "PG* environment")),
    ("PGUSER", None, {"PGUSER": "me"}, ("", "PG* environment")),
    ("other PG vars do not count", None, {"PGPASSWORD": "x", "PGSSLMODE": "require"}, (None, "embedded")),
    ("nothing", None, {}, (None, "embedded")),
    ("empty PGHOST does not count", None, {"PGHOST": ""}, (None, "embedded")),
]  # fmt: skip


@pytest.mark.parametrize("case, cli, environ, expected", RESOLVE_CASES, ids=[c[0] for c in RESOLVE_CASES])
def test_resolve_dsn_precedence(case, cli, environ, expected):
    assert resolve_dsn(cli, environ) == expected


@pytest.mark.parametrize(
    "cli, environ, fragment",
    [
        ("", {}, "--dsn is blank"),
        ("   ", {"PHOEBE_DSN": "host=x"}, "--dsn is blank"),
        (None, {"PHOEBE_DSN": " "}, "PHOEBE_DSN is blank"),
        ("not a dsn", {}, "invalid DSN"),
        (None, {"PHOEBE_DSN": "host=x bogus=1"}, 'invalid connection option "bogus"'),
        ("postgresql://u:s3cret@h:notaport/db", {}, "a port is not a number 1-65535"),
        ("postgresql://h:notaport/db", {}, "a port is not a number 1-65535"),  # "h:notaport" may be "user:password"
        ("host=h password=s3cret oops", {}, "invalid DSN"),
    ],
)
def test_resolve_dsn_refuses_blank_and_malformed(cli, environ, fragment):
    with pytest.raises(InputError) as info:
        resolve_dsn(cli, environ)
    assert fragment in str(info.value)
    assert "s3cret" not in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://nyx@127.0.0.1:54329/nyx",
        "postgresql://u%40x:p%3Aw%2F@db.example:5433/my%20db?sslmode=disable&application_name=a%20b",
        "host=/var/run/postgresql dbname=nyx user=nyx",
        "host='/tmp/with space/run' port=5433 dbname=nyx",
        "host=::1 port=5432 dbname=nyx",
        "host=h1,h2 port=5432,5433 dbname=nyx password='p w@/?&'",
        "",
    ],
)
def test_yoyo_url_carries_every_parameter(dsn):
    url = yoyo_url(dsn)
    assert url.startswith("postgresql+psycopg://")
    parsed = parse_uri(url)
    # what yoyo's PostgresqlBackend.connect hands to psycopg
    kwargs = {"dbname": parsed.database, **parsed.args}
    for key, value in (("user", parsed.username), ("password", parsed.password), ("port", parsed.port),
                       ("host", parsed.hostname)):  # fmt: skip
        if value is not None:
            kwargs[key] = value
    kwargs = {k: str(v) for k, v in kwargs.items() if v is not None}
    expected = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    expected.setdefault("connect_timeout", "5")
    assert kwargs == expected


def test_the_libpq_environment_is_used_for_an_empty_dsn(empty_db_dsn, monkeypatch):
    params = conninfo_to_dict(empty_db_dsn)
    names = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "dbname": "PGDATABASE", "password": "PGPASSWORD",
             "passfile": "PGPASSFILE"}
    for key, env in names.items():
        monkeypatch.delenv(env, raising=False)
        if params.get(key):
            monkeypatch.setenv(env, str(params[key]))
    monkeypatch.delenv("PHOEBE_DSN", raising=False)
    dsn, source = resolve_dsn(None, os.environ)
    assert (dsn, source) == ("", "PG* environment")
    with Store.connect(dsn) as store:
        assert store.migrate() == ALL_MIGRATIONS
        assert store.count_runs(uuid.uuid4()) == 0
