"""Messages between the partnership and the nimmerverse: the API, the CLI and the database's own checks."""

from __future__ import annotations

import psycopg
import pytest

from collector.api import Message, NewMessage, Phoebe
from collector.core.errors import InputError
from tests.cli_helpers import query, run_cli


@pytest.fixture
def phoebe(db_dsn):
    with Phoebe.connect(db_dsn) as connected:
        yield connected


def test_write_and_read_both_directions(phoebe):
    for i in range(7):
        phoebe.write_message(to="nimmerverse", message_type="research_direction", message=f"direction {i}")
    stored = phoebe.write_message(to="partnership", message_type="milestone", message="1000 runs; 'Aufhebung' ✓")
    assert isinstance(stored, Message) and stored.id >= 1 and stored.message == "1000 runs; 'Aufhebung' ✓"
    latest = phoebe.read_messages(to="nimmerverse")
    assert [m.message for m in latest] == [f"direction {i}" for i in (6, 5, 4, 3, 2)]  # default: 5, newest first
    assert len(phoebe.read_messages(to="nimmerverse", limit=100)) == 7
    assert [m.message_type for m in phoebe.read_messages(to="partnership")] == ["milestone"]


@pytest.mark.parametrize("to, bad_type", [("nimmerverse", "milestone"), ("partnership", "research_direction"),
                                          ("partnership", "x" * 60)])
def test_message_type_not_allowed_for_direction(phoebe, to, bad_type):
    with pytest.raises(InputError, match="is not allowed|at most 50 characters"):
        phoebe.write_message(to=to, message_type=bad_type, message="hello")
    assert phoebe.read_messages(to=to) == []


def test_database_rejects_bad_rows_inserted_directly(db_dsn):
    with psycopg.connect(db_dsn) as conn:
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("insert into public.nimmerverse_to_partnership_messages (message, message_type) "
                         "values ('hi', 'config_change')")
    with psycopg.connect(db_dsn) as conn:
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("insert into public.partnership_to_nimmerverse_messages (message, message_type) "
                         "values ('   ', 'config_change')")


def test_invalid_messages_are_refused_before_the_database(phoebe):
    with pytest.raises(InputError, match=r"invalid message \(to\)"):
        phoebe.write_message(to="elsewhere", message_type="question", message="?")
    with pytest.raises(InputError, match="blank"):
        phoebe.write_message(to="partnership", message_type="question", message="   ")
    stored = phoebe.write_message(NewMessage(to="partnership", message_type="question", message="why depth 3?"))
    assert stored.message_type == "question"


def test_cli_write_and_read(capsys, db_dsn):
    result = run_cli(capsys, "message", "write", "--to", "nimmerverse", "--type", "config_change",
                     "batch size 128; temperature 0.7", "--dsn", db_dsn)
    assert result.code == 0, result.err
    assert query(db_dsn, "select message from public.partnership_to_nimmerverse_messages")[0]["message"] == \
        "batch size 128; temperature 0.7"
    shown = run_cli(capsys, "message", "read", "--dsn", db_dsn)
    assert shown.code == 0 and "config_change" in shown.out and "batch size 128" in shown.out
    bad = run_cli(capsys, "message", "write", "--to", "partnership", "--type", "config_change", "x",
                  "--dsn", db_dsn)
    assert bad.code == 2 and bad.err.startswith("Error: message type 'config_change' is not allowed")
    assert query(db_dsn, "select count(*) as n from public.nimmerverse_to_partnership_messages")[0]["n"] == 0


def test_api_reads_sessions_and_runs(capsys, db_dsn, tiny_model_dir):
    result = run_cli(capsys, "Wille", "--runs", "3", "--max-new-tokens", "3", "--model", str(tiny_model_dir),
                     "--dsn", db_dsn, "--quiet", "--no-iris")
    assert result.code == 0, result.err
    with Phoebe.connect(db_dsn) as phoebe:
        session = phoebe.sessions(limit=1)[0]
        runs = phoebe.runs(session.session_id)
    assert session.term == "Wille" and session.runs_stored == 3 and session.status == "completed"
    assert [r.run_number for r in runs] == [1, 2, 3] and all(r.chain[0] == "Wille" for r in runs)
