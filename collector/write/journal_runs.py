"""The runs of a journal (written while the database was away), checked against their stored
sessions before any of them is stored: at the start of a resumed session and by ``replay``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from collector.core.errors import DatabaseError, InputError, SessionNotFound
from collector.core.records import RunRecord, SessionRecord
from collector.db.journal import Journal
from collector.write.sink import write_new_runs

if TYPE_CHECKING:
    from collector.db.store import Store

__all__ = ["checked_journal_runs", "load_leftover_journal"]


def load_leftover_journal(store: Store, session: SessionRecord, on_note: Callable[[str], None] | None,
                          journal: Journal | None = None) -> None:
    """Store the runs of the journal a killed collector of ``session`` left (runs stored already are
    skipped), then remove it, so that the missing run numbers are the ones really missing.
    ``journal``: another file than the session's (a queued session's shard has its own)."""
    journal = journal or Journal.for_session(session.session_id)
    if not journal.pending:
        return
    runs = checked_journal_runs(store, journal)
    loaded = write_new_runs(store, runs)
    try:
        journal.clear()
    except OSError as exc:
        raise DatabaseError(f"loaded the journal {journal.path} but cannot remove it ({exc.strerror}): remove it "
                            f"by hand (its runs are stored), then resume again") from exc
    if on_note:
        on_note(f"loaded {len(loaded)} run(s) from the journal {journal.path} that an earlier collector of this "
                f"session left ({len(runs) - len(loaded)} were stored already)")


def checked_journal_runs(store: Store, journal: Journal) -> list[RunRecord]:
    """Every run of ``journal`` (later lines win), each checked against its stored session: the
    session exists, the run's number is one it requested (1..runs_requested), its term is the
    session's, and it has its rounds 1..n within max_rounds. The first line that fails refuses the
    whole journal (InputError naming the file and line; SessionNotFound for an unknown session)."""
    sessions: dict[object, dict] = {}
    runs: dict[tuple[str, int], RunRecord] = {}
    for number, run in journal.entries():
        row = sessions.get(run.session_id)
        if row is None:
            row = store.get_session(run.session_id)
            if row is None:
                raise SessionNotFound(f"journal {journal.path} holds runs of session {run.session_id}, which this "
                                      "database lacks")
            sessions[run.session_id] = row
        problem = _journal_run_problem(run, row)
        if problem:
            raise InputError(f"{journal.path}, line {number}: {problem}; nothing of the journal was stored")
        runs[(str(run.session_id), run.run_number)] = run
    return list(runs.values())


def _journal_run_problem(run: RunRecord, session: dict) -> str | None:
    n, requested = run.run_number, session["runs_requested"]
    if not 1 <= n <= requested:
        return f"run number {n} is outside 1..{requested}, the runs session {run.session_id} requested"
    if run.term != session["term"]:
        return f"run {n} has the term {run.term[:60]!r}, its session {session['term'][:60]!r}"
    numbers = [r.round for r in run.rounds]
    if not numbers:
        return f"run {n} has no rounds"
    if numbers != list(range(1, len(numbers) + 1)) or len(numbers) > session["max_rounds"]:
        return f"run {n} has the rounds {numbers}, not 1..k with k at most {session['max_rounds']}"
    return None

