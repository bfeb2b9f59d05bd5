"""Re-judgements: another judge version's verdicts over stored rounds, stored beside the original
(raw.session_judgements, raw.round_judgements), and the lock that keeps two re-judgers apart."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from collector.db.store.connection import Connection, _as_uuid, _copy_value, _jsonb
from collector.db.store.files import _q
from collector.db.store.runs import ROUND_COLUMNS

__all__ = ["JUDGEMENT_COLUMNS", "Judgements"]

JUDGEMENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("session_id", "uuid"), ("run_number", "int4"), ("round", "int2"), ("judge_version", "text"),
    ("echo_type", "text"),
    *((name, type_) for name, type_ in ROUND_COLUMNS
      if name not in ("session_id", "run_number", "round", "prompt", "completion", "echo_type", "tokens_generated",
                      "finish_reason")),
)  # fmt: skip
"""raw.round_judgements as COPY writes it: the round's key, the judge version, the verdict and the
same feature columns as raw.probe_rounds (derived from ROUND_COLUMNS)."""


class Judgements(Connection):
    """raw.session_judgements and raw.round_judgements."""

    def write_rejudgement(self, settings: dict[str, Any], rows: Sequence[tuple]) -> None:
        """Store a session's re-judgement (its settings and one row per round, in JUDGEMENT_COLUMNS
        order) in one transaction: all of it or nothing."""
        action = f"cannot store the judgement of session {settings['session_id']} by {settings['judge_version']}"
        with self._errors(action), self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute(_q("add_session_judgement"),
                        {**settings, "judge_settings": _jsonb(settings.get("judge_settings"))})
            columns = ", ".join(name for name, _type in JUDGEMENT_COLUMNS)
            with cur.copy(_q("copy_round_judgements").format(columns=columns)) as copy:
                copy.set_types([type_ for _name, type_ in JUDGEMENT_COLUMNS])
                for row in rows:
                    copy.write_row(tuple(_copy_value(v) for v in row))

    def session_judgements(self, session_id: uuid.UUID | str) -> list[dict[str, Any]]:
        sid = _as_uuid(session_id)
        return self._all("session_judgements", {"session_id": sid}, f"cannot read the judgements of {sid}")

    def round_judgements(self, session_id: uuid.UUID | str, judge_version: str) -> list[dict[str, Any]]:
        sid = _as_uuid(session_id)
        return self._all("fetch_round_judgements", {"session_id": sid, "judge_version": judge_version},
                         f"cannot read the judgements of {sid}")

    @contextmanager
    def rejudge_lock(self, session_id: uuid.UUID, judge_version: str) -> Iterator[bool]:
        """Whether this connection holds, for the block, the lock of re-judging ``session_id`` with
        ``judge_version`` (an advisory lock, released after the block or when the connection ends);
        False at once when another process holds it: that one is judging the session."""
        params = {"session_id": str(session_id), "judge_version": judge_version}
        action = f"cannot lock session {session_id} for re-judging"
        locked = bool((self._one("rejudge_try_lock", params, action) or {}).get("locked"))
        try:
            yield locked
        finally:
            if locked and not (self.conn.closed or self.conn.broken):
                self._one("rejudge_unlock", params, action)

    def sessions_to_rejudge(self, judge_version: str) -> list[uuid.UUID]:
        rows = self._all("sessions_to_rejudge", {"judge_version": judge_version}, "cannot list sessions")
        return [r["session_id"] for r in rows]
