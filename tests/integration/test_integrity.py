"""The database refuses what the collector must never store (migration 0009): a run numbered outside
1..runs_requested, and a run without exactly its rounds 1..rounds, whoever writes it and however."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors as pg_errors

from collector.db.store import Store
from collector.core.errors import DatabaseError
from tests.conftest import create_database, drop_database
from tests.integration.test_migrations import SID, TERM, insert, round_row, run_row, session_row
from tests.integration.test_store import CI, CO, E, make_run, make_session

FULL = dict(depth=1, rounds=3, echo_types=["EXPANDS", "CIRCULAR", "CIRCULAR"])  # a full chain of 3 rounds


@pytest.fixture(scope="module")
def seeded(pg_dsn, template_db) -> Iterator[str]:
    """A migrated database with a 100-run session holding run 1 (two rounds) with its rounds."""
    name = f"test_integrity_{uuid.uuid4().hex[:12]}"
    dsn = create_database(pg_dsn, name, template=template_db)
    with psycopg.connect(dsn) as conn:
        insert(conn, "probe_sessions", session_row())
        insert(conn, "variance_probe_runs", run_row())
        insert(conn, "probe_rounds", round_row())
        insert(conn, "probe_rounds", round_row(round=2, echo_type="CIRCULAR"))
    yield dsn
    drop_database(pg_dsn, name)


def add_run(conn, number: int, stored: list[int] | None = None, **changes) -> None:
    """Insert run ``number`` (two rounds unless ``changes`` say otherwise) and the round rows
    ``stored`` (default: all of its rounds)."""
    row = run_row(run_number=number, **changes)
    insert(conn, "variance_probe_runs", row)
    for r in stored if stored is not None else range(1, row["rounds"] + 1):
        insert(conn, "probe_rounds", round_row(run_number=number, round=r))


def sql(statement: str):
    return lambda conn: conn.execute(statement, {"sid": SID})


# (case, what the transaction does, the constraint that refuses it). Each runs in its own
# transaction, committed at the end, on the seeded database (which is left as it was).
REFUSED = [
    ("run number beyond runs_requested", lambda c: add_run(c, 101), "runs_run_number_within_requested"),
    ("run number far beyond runs_requested", lambda c: add_run(c, 2**31 - 1), "runs_run_number_within_requested"),
    ("one run of a batch beyond runs_requested",
     lambda c: [add_run(c, n) for n in (98, 99, 100, 101)], "runs_run_number_within_requested"),
    ("run renumbered beyond runs_requested",
     lambda c: (add_run(c, 2, stored=[]), sql("update raw.variance_probe_runs set run_number = 500 "
                                              "where session_id = %(sid)s and run_number = 2")(c)),
     "runs_run_number_within_requested"),
    ("a run without rounds", lambda c: add_run(c, 2, stored=[]), "runs_have_their_rounds"),
    ("a run with one of its two rounds", lambda c: add_run(c, 2, stored=[1]), "runs_have_their_rounds"),
    ("a run with its second round only", lambda c: add_run(c, 2, stored=[2]), "runs_have_their_rounds"),
    ("a full chain with two of its three rounds", lambda c: add_run(c, 2, stored=[1, 2], **FULL),
     "runs_have_their_rounds"),
    ("a full chain with rounds 1 and 3", lambda c: add_run(c, 2, stored=[1, 3], **FULL), "runs_have_their_rounds"),
    ("a third round of a two-round run", lambda c: add_run(c, 2, stored=[1, 2, 3]), "rounds_within_their_run"),
    ("a round added to a stored run", lambda c: insert(c, "probe_rounds", round_row(round=3)),
     "rounds_within_their_run"),
    ("a stored run given a third round it lacks",
     sql("update raw.variance_probe_runs set rounds = 3, echo_types = '{EXPANDS,CIRCULAR,CIRCULAR}' "
         "where session_id = %(sid)s and run_number = 1"), "runs_have_their_rounds"),
    ("a round of a stored run deleted",
     sql("delete from raw.probe_rounds where session_id = %(sid)s and round = 2"), "rounds_stay_with_their_run"),
    ("every round of a stored run deleted",
     sql("delete from raw.probe_rounds where session_id = %(sid)s"), "rounds_stay_with_their_run"),
    ("a round renumbered", sql("update raw.probe_rounds set round = 3 where session_id = %(sid)s and round = 2"),
     "rounds_stay_with_their_run"),
    ("the rounds truncated without their runs", sql("truncate raw.probe_rounds cascade"),
     "rounds_stay_with_their_run"),
    ("runs_requested lowered", sql("update raw.probe_sessions set runs_requested = 1 where session_id = %(sid)s"),
     "sessions_runs_requested_fixed"),
    ("runs_requested raised", sql("update raw.probe_sessions set runs_requested = 1000 where session_id = %(sid)s"),
     "sessions_runs_requested_fixed"),
]  # fmt: skip

SEEDED = {"sessions": 1, "runs": 1, "rounds": 2, "requested": 100, "failed": 0, "novelty_025": 0}
"""The counts of the seeded database (rows, requested runs, failed sessions, rounds of novelty 0.25)."""


def after(**changes: int) -> dict[str, int]:
    """The row counts after an accepted transaction: the seeded ones with ``changes``."""
    return {**SEEDED, **changes}


# (case, what the transaction does, the counts it leaves: rows, requested runs, failed sessions and
# rounds whose novelty is 0.25)
ACCEPTED = [
    ("the last requested run with its rounds", lambda c: add_run(c, 100), after(runs=2, rounds=4)),
    ("a batch of runs with their rounds", lambda c: [add_run(c, n) for n in range(2, 60)],
     after(runs=59, rounds=118)),
    ("a full chain with its three rounds", lambda c: add_run(c, 2, **FULL), after(runs=2, rounds=5)),
    ("runs first, then their rounds, in one transaction",
     lambda c: (insert(c, "variance_probe_runs", run_row(run_number=2)),
                insert(c, "variance_probe_runs", run_row(run_number=3)),
                [insert(c, "probe_rounds", round_row(run_number=n, round=r)) for n in (2, 3) for r in (1, 2)]),
     after(runs=3, rounds=6)),
    ("a run inserted and deleted again without rounds",
     lambda c: (add_run(c, 2, stored=[]), sql("delete from raw.variance_probe_runs "
                                              "where session_id = %(sid)s and run_number = 2")(c)), after()),
    ("a run deleted with its rounds", sql("delete from raw.variance_probe_runs where session_id = %(sid)s"),
     after(runs=0, rounds=0)),
    ("the session deleted with its runs and rounds", sql("delete from raw.probe_sessions where session_id = %(sid)s"),
     after(sessions=0, runs=0, rounds=0, requested=0)),
    ("a session's status changed", sql("update raw.probe_sessions set status = 'failed', finished_at = now() "
                                       "where session_id = %(sid)s"), after(failed=1)),
    ("runs_requested set to what it is", sql("update raw.probe_sessions set runs_requested = 100 "
                                             "where session_id = %(sid)s"), after()),
    ("a round's features changed", sql("update raw.probe_rounds set novelty = 0.25 where session_id = %(sid)s"),
     after(novelty_025=2)),
    ("runs and rounds truncated together", sql("truncate raw.probe_rounds, raw.variance_probe_runs cascade"),
     after(runs=0, rounds=0)),
]  # fmt: skip


def _in_a_transaction(dsn: str, change) -> dict[str, int]:
    """Apply ``change`` and commit; return the row counts afterwards (also when the commit failed),
    then put the seeded rows back (the module's database is shared)."""
    try:
        with psycopg.connect(dsn) as conn:
            try:
                change(conn)
                conn.commit()
            finally:
                conn.rollback()
    finally:
        counts = _counts(dsn)
        with psycopg.connect(dsn) as conn:
            restore(conn)
        _LAST_COUNTS.clear()
        _LAST_COUNTS.update(counts)
    return counts


_LAST_COUNTS: dict[str, int] = {}


def restore(conn) -> None:
    """Put the seeded rows back: the session, run 1 and its two rounds, nothing else."""
    conn.execute("delete from raw.probe_sessions")
    insert(conn, "probe_sessions", session_row())
    insert(conn, "variance_probe_runs", run_row())
    insert(conn, "probe_rounds", round_row())
    insert(conn, "probe_rounds", round_row(round=2, echo_type="CIRCULAR"))
    conn.commit()


@pytest.mark.parametrize("case, change, constraint", REFUSED, ids=[c[0] for c in REFUSED])
def test_the_database_refuses(seeded, case, change, constraint):
    with pytest.raises(pg_errors.CheckViolation) as info:
        _in_a_transaction(seeded, change)
    assert info.value.diag.constraint_name == constraint
    assert "session" in info.value.diag.message_detail or "truncate" in info.value.diag.message_detail
    assert _LAST_COUNTS == SEEDED  # nothing of the transaction was stored


@pytest.mark.parametrize("case, change, counts", ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_the_database_accepts(seeded, case, change, counts):
    assert _in_a_transaction(seeded, change) == counts  # committed: the counts show the change


def _counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return {
            "sessions": conn.execute("select count(*) from raw.probe_sessions").fetchone()[0],
            "runs": conn.execute("select count(*) from raw.variance_probe_runs").fetchone()[0],
            "rounds": conn.execute("select count(*) from raw.probe_rounds").fetchone()[0],
            "requested": conn.execute("select coalesce(sum(runs_requested), 0) from raw.probe_sessions").fetchone()[0],
            "failed": conn.execute("select count(*) from raw.probe_sessions where status = 'failed'").fetchone()[0],
            "novelty_025": conn.execute("select count(*) from raw.probe_rounds where novelty = 0.25").fetchone()[0],
        }


# --- the collector's own write path (COPY of runs, then of rounds, one transaction) -------------

@pytest.mark.parametrize("numbers", [[11], [9, 10, 11], [121]], ids=["run 11", "runs 9-11", "run 121"])
def test_write_runs_refuses_a_batch_with_a_run_beyond_runs_requested(store, numbers):
    session = make_session()  # runs_requested=10
    store.create_session(session)
    store.write_runs([make_run(session, 5, [CO])])
    with pytest.raises(DatabaseError) as info:
        store.write_runs([make_run(session, n, [E, CI]) for n in numbers])
    message = str(info.value)
    assert "runs_run_number_within_requested" in message and f"run {max(numbers)}" in message
    assert "nothing of this batch was stored" in message
    assert store.stored_run_numbers(session.session_id) == {5}


def test_a_run_row_without_its_round_rows_is_refused_at_commit(store):
    """The rows the collector writes are derived from one RunRecord; written by hand (a run row and
    too few round rows, as a replayed or foreign writer could), the commit refuses them."""
    session = make_session()
    store.create_session(session)
    run = make_run(session, 4, [E, E, CI])
    with pytest.raises(pg_errors.CheckViolation) as info, store.conn.transaction(), store.conn.cursor() as cur:
        with cur.copy("copy raw.variance_probe_runs (session_id, term, run_number, depth, rounds, echo_types, "
                      "chain, model_name, temperature, max_rounds, max_new_tokens, seed) from stdin") as copy:
            copy.write_row(store._run_row(run, None)[:3] + store._run_row(run, None)[4:])
        with cur.copy("copy raw.probe_rounds (session_id, run_number, round, prompt, completion, echo_type, "
                      "tokens_generated, finish_reason, n_words, distinct_ratio, nonletter_ratio, content_words, "
                      "new_stems, novelty) from stdin") as copy:
            for row in list(store._round_rows(run))[:2]:
                copy.write_row(row[:14])
    assert info.value.diag.constraint_name == "runs_have_their_rounds"
    assert "run 4" in info.value.diag.message_detail
    assert store.stored_run_numbers(session.session_id) == set()


def test_term_of_the_seeded_session_is_the_runs_term():
    assert run_row()["term"] == TERM == session_row()["term"]
