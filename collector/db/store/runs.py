"""Runs and their rounds: written together in one transaction (COPY), so a run is never stored
without its rounds, and read back by session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg

from collector.core.errors import DatabaseError
from collector.core.records import RunRecord
from collector.db.store.connection import Connection, _as_uuid, _copy_value, _text
from collector.db.store.errors import _copy_line
from collector.db.store.files import _q

__all__ = ["ROUND_COLUMNS", "Runs"]

_RUN_TYPES = [
    "uuid", "text", "int4", "timestamptz", "int2", "int2", "text[]", "text[]",
    "text", "float8", "int2", "int4", "int8",
]  # fmt: skip
ROUND_COLUMNS: tuple[tuple[str, str], ...] = (
    ("session_id", "uuid"), ("run_number", "int4"),  # of the run
    ("round", "int2"), ("prompt", "text"), ("completion", "text"), ("echo_type", "text"),
    ("tokens_generated", "int4"), ("finish_reason", "text"),
    ("n_words", "int4"), ("distinct_ratio", "float4"), ("nonletter_ratio", "float4"), ("content_words", "int4"),
    ("new_stems", "int4"), ("novelty", "float4"), ("sim_term", "float4"), ("sim_prev", "float4"),
    ("sim_ref", "float4"),
)  # fmt: skip
"""raw.probe_rounds as COPY writes it, (column, type): the one list the COPY statement, its types
and each round's row are derived from. The columns after the run's are RoundRecord's fields."""
_ROUND_OF_RUN = ("session_id", "run_number")


class Runs(Connection):
    """raw.probe_runs and raw.probe_rounds."""

    def write_runs(self, runs: Sequence[RunRecord]) -> None:
        """Store ``runs`` and all their rounds in one transaction (COPY): all of them or none."""
        if not runs:
            return
        action = f"cannot store {len(runs)} run(s) of session {runs[0].session_id}"
        round_owner: list[int] = []
        stage = "runs"
        try:
            with self._errors(action), self.conn.transaction(), self.conn.cursor() as cur:
                now = cur.execute(_q("transaction_now")).fetchone()["now"]
                with cur.copy(_q("copy_runs")) as copy:
                    copy.set_types(_RUN_TYPES)
                    for run in runs:
                        copy.write_row(self._run_row(run, now))
                stage = "rounds"
                columns = ", ".join(name for name, _type in ROUND_COLUMNS)
                with cur.copy(_q("copy_rounds").format(columns=columns)) as copy:
                    copy.set_types([type_ for _name, type_ in ROUND_COLUMNS])
                    for run in runs:
                        for row in self._round_rows(run):
                            round_owner.append(run.run_number)
                            copy.write_row(row)
        except DatabaseError as exc:
            cause = exc.__cause__
            line = _copy_line(cause) if isinstance(cause, psycopg.Error) else None
            error = type(exc)
            if line is not None:
                owners = [r.run_number for r in runs] if stage == "runs" else round_owner
                if 1 <= line <= len(owners):
                    raise error(f"{exc} (run {owners[line - 1]}); nothing of this batch was stored") from cause
            raise error(f"{exc}; nothing of this batch was stored") from cause

    @staticmethod
    def _run_row(run: RunRecord, now: Any) -> tuple:
        return (
            run.session_id,
            run.term,
            run.run_number,
            run.finished_at or now,
            run.depth,
            len(run.rounds),
            run.echo_types,
            [_text(t) for t in run.chain],
            run.model_name,
            run.temperature,
            run.max_rounds,
            run.max_new_tokens,
            run.seed,
        )

    @staticmethod
    def _round_rows(run: RunRecord) -> Iterator[tuple]:
        for r in run.rounds:
            yield tuple(_copy_value(getattr(run if name in _ROUND_OF_RUN else r, name)) for name, _ in ROUND_COLUMNS)

    def fetch_runs(self, session_id: uuid.UUID | str) -> list[dict[str, Any]]:
        """Every run of the session, by run_number, with echo_types and chain as lists."""
        sid = _as_uuid(session_id)
        return self._all("fetch_runs", {"session_id": sid}, f"cannot read runs of session {sid}")

    def fetch_rounds(self, session_id: uuid.UUID | str) -> list[dict[str, Any]]:
        """Every round of the session, by run_number then round."""
        sid = _as_uuid(session_id)
        return self._all("fetch_rounds", {"session_id": sid}, f"cannot read rounds of session {sid}")
