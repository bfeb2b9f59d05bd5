"""Human labels of stored rounds (``nyx-collect label``): raw.round_labels."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from collector.core.errors import UnknownRounds
from collector.db.store.connection import Connection
from collector.db.store.files import _q

__all__ = ["Labels"]


class Labels(Connection):
    """raw.round_labels, and the rounds a labeller sees."""

    def sessions_of_term(self, term: str, model_name: str | None = None) -> list[uuid.UUID]:
        rows = self._all("sessions_of_term", {"term": term, "model_name": model_name},
                         f"cannot list the sessions of {term!r}")
        return [r["session_id"] for r in rows]

    def label_candidates(self, sessions: Sequence[uuid.UUID], labeller: str) -> list[dict[str, Any]]:
        """Every stored round of ``sessions`` with what a labeller sees, the session judge's type
        and ``own_label`` (this labeller's label, or None), in key order."""
        return self._all("label_candidates", {"sessions": list(sessions), "labeller": labeller},
                         "cannot read the rounds to label")

    def get_label(self, key: dict[str, Any]) -> dict[str, Any] | None:
        """``key``: session_id, run_number, round, labeller."""
        return self._one("label_get", key, "cannot read the label")

    def put_label(self, row: dict[str, Any]) -> dict[str, Any]:
        """Give or replace one label (committed at once); ``row`` as raw.round_labels, labelled_at
        and note optional."""
        params = {"labelled_at": None, "note": None, **row}
        stored = self._one("label_put", params, f"cannot store the label of round {row['round']} of run "
                                               f"{row['run_number']} of session {row['session_id']}")
        assert stored is not None
        return stored

    def delete_label(self, key: dict[str, Any]) -> None:
        with self._errors("cannot remove the label"), self.conn.cursor() as cur:
            cur.execute(_q("label_delete"), key)

    def import_labels(self, rows: Sequence[dict[str, Any]]) -> int:
        """Store ``rows`` (raw.round_labels fields, plus the optional ``term``, ``model_name``, ``prev``
        and ``text`` each claims of its round) in one transaction. If any names a round that is not
        stored, or one whose term, model, prompt or completion differs from its claim, nothing is
        written and UnknownRounds lists them by position (0-based) with the reason."""
        keys = {
            "session_ids": [r["session_id"] for r in rows], "run_numbers": [r["run_number"] for r in rows],
            "rounds": [r["round"] for r in rows], "terms": [r.get("term") for r in rows],
            "model_names": [r.get("model_name") for r in rows], "prevs": [r.get("prev") for r in rows],
            "texts": [r.get("text") for r in rows],
        }
        with self._errors("cannot import the labels"), self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute(_q("label_unknown_rounds"), keys)
            unknown = [(r["pos"] - 1, r["reason"]) for r in cur.fetchall()]
            if unknown:
                raise UnknownRounds(unknown)
            fields = ("session_id", "run_number", "round", "labeller", "label", "labelled_at", "note")
            cur.executemany(_q("label_put"), [{k: r.get(k) for k in fields} for r in rows])
        return len(rows)

    def export_labels(self, session_id: uuid.UUID | None = None, term: str | None = None,
                      labeller: str | None = None) -> list[dict[str, Any]]:
        params = {"session_id": session_id, "term": term, "labeller": labeller}
        return self._all("labels_export", params, "cannot read the labels")
