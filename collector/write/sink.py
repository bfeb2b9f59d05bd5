"""The run sink: finished runs on their way into the database, through outages.

Runs are buffered and committed in one transaction per flush (COPY), at the latest every
FLUSH_SECONDS and whenever a batch's worth has finished. When the connection is lost, they go to
the session's journal (on disk, fsynced) while generation goes on; the sink reconnects with
exponential backoff and loads the journal when the server is back, and gives up with one line
naming the journal once the outage outlasts the limit. It says once that runs are being journaled
and once when they are loaded. Whoever needs to know about committed runs (the chain index, the
progress display) is told after each commit, never before.

Runs another collector of the same session stored meanwhile (``resume --force`` beside a
collector that still runs) are skipped, not written twice: their seeds, and so their rows, are the
same.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from collector.db.journal import Journal
from collector.core.errors import DatabaseError, RunsAlreadyStored
from collector.core.interrupts import INTERRUPTS
from collector.core.records import RunRecord, SessionRecord

if TYPE_CHECKING:
    from collector.db.store import Store

FLUSH_SECONDS = 2.0
OUTAGE_LIMIT_S = 300.0
"""How long the database may stay unreachable before the collector stops (runs are journaled)."""
MAX_BACKOFF_S = 30.0

WRITE_ATTEMPTS = 5
"""How often write_new_runs looks again when another collector stored some of the runs meanwhile."""

#: Told about every batch of runs once it is committed.
CommitListener = Callable[[list[RunRecord]], None]
#: Told about the outage once as it begins and once when the journal is loaded.
NoteListener = Callable[[str], None]


def write_new_runs(store: Store, runs: Sequence[RunRecord]) -> list[RunRecord]:
    """Store the runs the database does not hold yet (one transaction); return them.

    Loading a journal twice, or one that overlaps what was committed, is therefore harmless, and
    so is another collector of the same session storing some of them meanwhile.
    """
    for attempt in range(WRITE_ATTEMPTS):
        new: list[RunRecord] = []
        for session_id in sorted({r.session_id for r in runs}, key=str):
            done = store.stored_run_numbers(session_id)
            new += [r for r in runs if r.session_id == session_id and r.run_number not in done]
        try:
            if new:
                store.write_runs(new)
            return new
        except RunsAlreadyStored:
            if attempt == WRITE_ATTEMPTS - 1:
                raise
    return []


class RunSink:
    """Buffers one session's finished runs and commits them, journaling them during outages."""

    def __init__(self, store: Store, session: SessionRecord, on_commit: CommitListener | None = None,
                 outage_limit_s: float = OUTAGE_LIMIT_S, on_note: NoteListener | None = None,
                 journal: Journal | None = None):
        self.store = store
        self.session = session
        self.flush_runs = session.batch_size
        self.on_commit = on_commit
        self.on_note = on_note
        self.journal = journal or Journal.for_session(session.session_id)
        self.outage_limit_s = outage_limit_s
        self.outage_since: float | None = None
        self.backoff = 1.0
        self.next_retry = 0.0
        self.buffer: list[RunRecord] = []
        self.last_flush = time.monotonic()

    @property
    def pending(self) -> bool:
        """Whether journaled runs still wait for the database."""
        return self.journal.pending

    def add(self, runs: list[RunRecord]) -> None:
        self.buffer.extend(runs)
        if len(self.buffer) >= self.flush_runs or time.monotonic() - self.last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        with INTERRUPTS.shielded():
            if self.buffer:
                pending, self.buffer = self.buffer, []
                if self.journal.pending or not self._write(pending):
                    self._journal(pending)  # on disk before anything else happens
                    self._recover(wait=False)
            self.last_flush = time.monotonic()

    def _journal(self, runs: list[RunRecord]) -> None:
        first = not self.journal.pending
        try:
            self.journal.append(runs)
        except OSError as exc:
            raise DatabaseError(
                f"the database at {self.store.where} is unreachable and the journal {self.journal.path} cannot be "
                f"written ({exc.strerror}): {len(runs)} finished run(s) were not kept; the committed ones are safe, "
                f"`nyx-collect resume {self.session.session_id}` runs the rest once the database is back"
            ) from exc
        if first:
            self._note(f"the database at {self.store.where} is unreachable: finished runs are journaled to "
                       f"{self.journal.path} and loaded when it is back")

    def keep(self, then: Callable[[], None] | None = None) -> None:
        """On the way out of a failed, stopped or interrupted collection: commit (or journal) every
        finished run, then ``then()`` (marking the session), shielded from Ctrl-C. A failure here must
        not hide the first one: with the database away, the runs stay in the journal and the rest waits."""
        with INTERRUPTS.shielded():
            try:
                self.flush()
                if then is not None:
                    then()
            except DatabaseError:
                if not self.store.connection_lost:
                    raise

    def drain(self) -> None:
        """At the end of a session: flush, then wait (with backoff, up to the outage limit) until
        every journaled run is in the database."""
        self.flush()
        while self.journal.pending:
            self._recover(wait=True)

    def _write(self, runs: list[RunRecord]) -> bool:
        """Store ``runs`` (one transaction); False when the connection is lost, so they get journaled."""
        try:
            try:
                self.store.write_runs(runs)
            except RunsAlreadyStored:  # another collector of this session stored some of them
                runs = write_new_runs(self.store, runs)
        except DatabaseError:
            if not self.store.connection_lost:
                raise
            self.outage_since = self.outage_since or time.monotonic()
            return False
        self._committed(runs)
        return True

    def _committed(self, runs: list[RunRecord]) -> None:
        if self.on_commit is not None and runs:
            self.on_commit(runs)

    def _note(self, line: str) -> None:
        if self.on_note is not None:
            self.on_note(line)

    def _recover(self, wait: bool) -> None:
        """Reconnect when the backoff allows and load the journal; give up past the outage limit."""
        now = time.monotonic()
        if now < self.next_retry:
            if not wait:
                return
            time.sleep(self.next_retry - now)
        try:
            self.store.reconnect()
            loaded = write_new_runs(self.store, self.journal.read())
        except DatabaseError as exc:
            if not self.store.connection_lost:
                raise  # the server is back and refused the runs: not an outage
            down = time.monotonic() - (self.outage_since or time.monotonic())
            if down > self.outage_limit_s:
                raise DatabaseError(
                    f"the database has been unreachable for {down:.0f} s; the finished runs are safe in "
                    f"{self.journal.path}: load them with `nyx-collect replay {self.journal.path}`, then "
                    f"`nyx-collect resume {self.session.session_id}` ({exc})"
                ) from exc
            self.backoff = min(self.backoff * 2, MAX_BACKOFF_S)
            self.next_retry = time.monotonic() + self.backoff
            return
        try:
            self.journal.clear()
        except OSError as exc:
            raise DatabaseError(f"loaded the journal {self.journal.path} but cannot remove it ({exc.strerror}): "
                                "remove it by hand; its runs are stored") from exc
        self.outage_since, self.backoff, self.next_retry = None, 1.0, 0.0
        self._note(f"the database is back: {len(loaded)} journaled run(s) loaded")
        self._committed(loaded)
