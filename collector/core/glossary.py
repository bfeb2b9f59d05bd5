"""Reference meanings of terms: reading glossary files and the entries the collector ships.

The judge compares every round with the term's reference meaning (``raw.glossary`` in phoebe, one
row per version) and, where it reads them, with the term's accepted short glosses (``glosses`` in
English, ``glosses_de`` in German). This module reads and checks entries from a file (JSONL or CSV
with the columns term, reference, optional reference_de, language, source, glosses and glosses_de)
and knows the shipped ones (``collector/data/glossary.jsonl``: the six depth-3 terms of the
research and the demo's terms), which are loaded into a database on first use for terms it does not
yet have. Storing and reading them is :class:`collector.db.store.Store`'s job.
"""

from __future__ import annotations

import csv
import importlib.resources
import io
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from collector import __version__  # the package version, not a room
from collector.core.errors import InputError
from collector.core.params import validate_term
from collector.core.textfiles import check_text, json_objects, read_utf8

MAX_REFERENCE_CHARS = 4000
MAX_SOURCE_CHARS = 1000
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_GLOSS_CHARS = 200
MAX_GLOSSES = 20
"""Per language (the database refuses more, migration 0012)."""
CSV_GLOSS_SEPARATOR = "|"
"""Between the glosses of one CSV cell (a gloss in a CSV file cannot hold it; in JSONL it can)."""
_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}$")


@dataclass(frozen=True)
class GlossaryEntry:
    """One reference meaning to add (a stored one also has an id, a version and added_at)."""

    term: str
    reference: str
    reference_de: str | None = None
    language: str = "en"
    source: str | None = None
    glosses: tuple[str, ...] = ()
    glosses_de: tuple[str, ...] = ()

    def as_params(self) -> dict:
        return {"term": self.term, "reference": self.reference, "reference_de": self.reference_de,
                "language": self.language, "source": self.source, "glosses": list(self.glosses),
                "glosses_de": list(self.glosses_de)}


def _text(value: object, what: str, limit: int, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InputError(f"the {what} is blank")
        return None
    if not isinstance(value, str):
        raise InputError(f"the {what} must be text")
    value = " ".join(check_text(value, what).split())
    if len(value) > limit:
        raise InputError(f"the {what} is longer than {limit} characters")
    return value


def check_glosses(value: object, what: str = "gloss") -> tuple[str, ...]:
    """Accepted short glosses, checked and normalised: each NFC, white space collapsed, not blank,
    no control character, at most MAX_GLOSS_CHARS; at most MAX_GLOSSES; exact duplicates dropped,
    the order kept. ``None`` is none; anything but a list of texts is refused."""
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise InputError(f"the {what}es must be a list of texts")
    if len(value) > MAX_GLOSSES:
        raise InputError(f"{len(value)} {what}es; the limit is {MAX_GLOSSES}")
    glosses = []
    for number, gloss in enumerate(value, start=1):
        name = f"{what} {number}"
        if not isinstance(gloss, str):
            raise InputError(f"the {name} must be text")
        gloss = " ".join(unicodedata.normalize("NFC", check_text(gloss, name)).split())
        if not gloss or not any(unicodedata.category(ch)[0] in "LNPS" for ch in gloss):
            raise InputError(f"the {name} is blank")
        bad = next((ch for ch in gloss if unicodedata.category(ch) == "Cc"), None)
        if bad is not None:
            raise InputError(f"the {name} contains the control character U+{ord(bad):04X}")
        if len(gloss) > MAX_GLOSS_CHARS:
            raise InputError(f"the {name} is longer than {MAX_GLOSS_CHARS} characters")
        glosses.append(gloss)
    return tuple(dict.fromkeys(glosses))


def make_entry(term: object, reference: object, reference_de: object = None, language: object = None,
               source: object = None, glosses: object = None, glosses_de: object = None) -> GlossaryEntry:
    """A checked entry: the term normalised as every other source of terms, texts trimmed, glosses
    checked by :func:`check_glosses`."""
    if not isinstance(term, str):
        raise InputError("the term must be text")
    lang = (language or "en") if isinstance(language, str | type(None)) else None
    if lang is None or not _LANGUAGE_RE.match(lang.strip().lower()):
        raise InputError(f"the language must be an ISO 639 code such as en or de, got {language!r}")
    return GlossaryEntry(
        term=validate_term(term),
        reference=_text(reference, "reference", MAX_REFERENCE_CHARS, True),
        reference_de=_text(reference_de, "German reference", MAX_REFERENCE_CHARS, False),
        language=lang.strip().lower(),
        source=_text(source, "source", MAX_SOURCE_CHARS, False),
        glosses=check_glosses(glosses, "gloss"),
        glosses_de=check_glosses(glosses_de, "German gloss"),
    )


def read_glossary_file(path: Path) -> list[GlossaryEntry]:
    """Every entry of a JSONL (``.jsonl``/``.json``) or CSV file; one bad line refuses the whole file."""
    text = read_utf8(path, MAX_FILE_BYTES)
    rows = _csv_rows(path, text) if path.suffix.lower() == ".csv" else _json_rows(path, text)
    entries = []
    for where, row in rows:
        try:
            entries.append(make_entry(row.get("term"), row.get("reference"), row.get("reference_de"),
                                      row.get("language"), row.get("source"), row.get("glosses"),
                                      row.get("glosses_de")))
        except InputError as exc:
            raise InputError(f"{path}, {where}: {exc}") from None
    if not entries:
        raise InputError(f"{path} holds no glossary entries")
    return entries


def _json_rows(path: Path, text: str):
    for number, row in json_objects(path, text):
        yield f"line {number}", row


def _csv_rows(path: Path, text: str):
    """("line N", row) for every record of a CSV glossary, N the line the record begins on (a quoted
    field may span lines). Quotes are read strictly: one never closed, or text after a closing one,
    refuses the file; so does a header that names a column twice."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header = _csv_record(path, reader) or []
    if not {"term", "reference"} <= set(header):
        raise InputError(f"{path}: a CSV glossary needs a header with at least term and reference")
    twice = next((name for name in header if header.count(name) > 1), None)
    if twice is not None:
        raise InputError(f"{path}, line 1: the header names the column {twice!r} twice")
    while True:
        start = reader.line_num + 1
        record = _csv_record(path, reader)
        if record is None:
            return
        if not record:  # a blank line
            continue
        if len(record) > len(header):
            raise InputError(f"{path}, line {start}: more fields than the header names")
        row = dict(zip(header, record))
        yield f"line {start}", {**row, **{key: _csv_glosses(row.get(key)) for key in ("glosses", "glosses_de")}}


def _csv_record(path: Path, reader) -> list[str] | None:
    """The reader's next record (None at the end), or InputError naming the line it begins on."""
    start = reader.line_num + 1
    try:
        return next(reader, None)
    except csv.Error as exc:
        reason = "a quoted field is never closed" if str(exc) == "unexpected end of data" else str(exc)
        raise InputError(f"{path}, line {start}: {reason}") from None


def _csv_glosses(cell: str | None) -> list[str] | None:
    """A CSV cell of glosses separated by ``|``; an empty cell is none."""
    if cell is None or not cell.strip():
        return None
    return cell.split(CSV_GLOSS_SEPARATOR)


SHIPPED_SOURCE = "shipped with nyx-collector"
"""How the source of a shipped entry begins (``shipped with nyx-collector VERSION: ...``)."""


def shipped_entries() -> list[GlossaryEntry]:
    """The reference meanings shipped with the collector, each source marked as shipped."""
    text = importlib.resources.files("collector").joinpath("data", "glossary.jsonl").read_text(encoding="utf-8")
    entries = []
    for line in text.splitlines():
        if line.strip():
            row = json.loads(line)
            source = f"{SHIPPED_SOURCE} {__version__}: {row.get('source') or 'no source given'}"
            entries.append(make_entry(row["term"], row["reference"], row.get("reference_de"),
                                      row.get("language"), source, row.get("glosses"), row.get("glosses_de")))
    return entries
