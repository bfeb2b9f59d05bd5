"""The glossary: versioned reference meanings of terms (raw.glossary)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from collector.db.store.connection import Connection
from collector.db.store.files import _q

if TYPE_CHECKING:
    from collector.core.glossary import GlossaryEntry

__all__ = ["Glossary"]


class Glossary(Connection):
    """raw.glossary."""

    def add_reference(self, entry: GlossaryEntry) -> dict[str, Any]:
        """Add ``entry`` as the term's next version unless it equals the newest; return the row in
        force, with ``added`` telling whether a version was added."""
        with self._errors(f"cannot add the reference meaning of {entry.term!r}"), self.conn.cursor() as cur:
            cur.execute(_q("glossary_add"), entry.as_params())
            return cur.fetchone()

    def add_references(self, entries: Sequence[GlossaryEntry]) -> list[dict[str, Any]]:
        """Add several entries in one transaction: all of them or none."""
        action = f"cannot import {len(entries)} reference meaning(s)"
        with self._errors(action), self.conn.transaction(), self.conn.cursor() as cur:
            rows = []
            for entry in entries:
                cur.execute(_q("glossary_add"), entry.as_params())
                rows.append(cur.fetchone())
            return rows

    def reference_for(self, term: str) -> dict[str, Any] | None:
        """The newest reference meaning of ``term``, or None."""
        return self._one("glossary_current", {"term": term}, f"cannot read the reference meaning of {term!r}")

    def glossary_row(self, glossary_id: int) -> dict[str, Any] | None:
        """One stored version by id (what a session was judged against)."""
        return self._one("glossary_get", {"id": glossary_id}, f"cannot read glossary row {glossary_id}")

    def list_glossary(self, all_versions: bool = False) -> list[dict[str, Any]]:
        return self._all("glossary_list", {"all_versions": all_versions}, "cannot list the glossary")

    def seed_glossary(self, entries: Sequence[GlossaryEntry]) -> int:
        """Add the shipped entries for terms the glossary lacks, and a new version of a term whose newest
        version is itself a shipped one that differs from this collector's (an older collector's entry,
        say without glosses); a term whose newest version is the lab's own is never touched. Returns how
        many versions were added."""
        from collector.core.glossary import SHIPPED_SOURCE

        newest = {r["term"]: r["source"] or "" for r in self._all("glossary_terms", {}, "cannot read the glossary")}
        todo = [e for e in entries if e.term not in newest or newest[e.term].startswith(SHIPPED_SOURCE)]
        return sum(1 for row in self.add_references(todo) if row["added"]) if todo else 0
