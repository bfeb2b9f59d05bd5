"""What a judge compares a round with: the term's reference meaning and its accepted short glosses.

A glossary row (``raw.glossary``), a line of a references file or a labelled item's own ``reference``
becomes one :class:`Meaning`. The reference is a short description (English, and German where there
is one); the glosses are the few short forms a right answer often takes: a translation, a synonym, a
one-line gloss ("reason", "Verstand", "the faculty of reason"), per language. ref-2 uses only the
references; ref-3 also matches the glosses; an LLM judge shows both in its prompt.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Meaning:
    reference: str
    reference_de: str | None = None
    glosses: tuple[str, ...] = ()
    glosses_de: tuple[str, ...] = ()

    @property
    def references(self) -> list[str]:
        """The reference descriptions: English, then German where there is one."""
        return [t for t in (self.reference, self.reference_de) if t]

    @property
    def all_glosses(self) -> list[str]:
        """Every gloss, English first, without duplicates."""
        return list(dict.fromkeys((*self.glosses, *self.glosses_de)))

    @classmethod
    def from_row(cls, row: dict | None) -> Meaning | None:
        """The meaning of a glossary row or references-file line (None for no row or a blank reference)."""
        if not row or not (row.get("reference") or "").strip():
            return None
        return cls(reference=row["reference"], reference_de=row.get("reference_de") or None,
                   glosses=tuple(row.get("glosses") or ()), glosses_de=tuple(row.get("glosses_de") or ()))
