"""Human labels of stored rounds: the sample a labeller reads, the steps of a labelling session
(give, skip, undo), and the JSONL format of ``label export`` and ``label import``.

The sample is stratified over the round (1-3) and the session judge's own type, so rare types
are read too, and it is reproducible: the same seed over the same rounds draws the same rounds,
and a larger ``n`` draws a superset of a smaller one. It is shown in a shuffled order, so the
order gives nothing of the judge's verdict away. The agreement it measures is computed in dbt
(marts.judge_agreement), weighting each stratum by its size, so oversampling rare types does not
bias the accuracy reported for the whole term.
"""

from __future__ import annotations

import getpass
import json
import random
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from collector.core.errors import InputError, UnknownRounds
from collector.core.params import validate_term
from collector.core.records import EchoType
from collector.core.textfiles import check_text, json_objects, read_utf8

if TYPE_CHECKING:
    from collector.db.store import Store

KEYS: dict[str, str] = {
    "1": EchoType.EXPANDS.value,
    "2": EchoType.CONFIRMS.value,
    "3": EchoType.CIRCULAR.value,
    "4": EchoType.DIVERGENT.value,
    "5": EchoType.COLLAPSE.value,
}
"""One key per type, in the order the README lists them."""

MEANINGS: dict[str, str] = {
    "EXPANDS": "real structure: adds new content related to the term's meaning",
    "CONFIRMS": "a solid but shallow association: restates the meaning",
    "CIRCULAR": "recycles the same words",
    "DIVERGENT": "an association, but away from the term's meaning (a wrong meaning, a namesake)",
    "COLLAPSE": "gibberish, empty, boilerplate or unrelated",
}

DEFAULT_SEED = 0
"""Without --seed every labeller draws the same sample, so two labellers overlap and their own
agreement is measured too."""
MAX_LABELLER_CHARS = 200
MAX_NOTE_CHARS = 2000
MAX_IMPORT_BYTES = 64 * 1024 * 1024
MAX_IMPORT_ITEMS = 1_000_000
MAX_SAMPLE = 100_000


@dataclass(frozen=True)
class Candidate:
    """A stored round as a labeller sees it, with the stratum it is sampled in."""

    session_id: uuid.UUID
    run_number: int
    round: int
    term: str
    model_name: str
    glossary_id: int | None
    prompt: str
    completion: str
    judge_type: str
    own_label: str | None = None

    @property
    def key(self) -> tuple[str, int, int]:
        return (str(self.session_id), self.run_number, self.round)

    @property
    def stratum(self) -> tuple[int, str]:
        return (self.round, self.judge_type)


def labeller_name(name: str | None) -> str:
    """The labeller: ``name`` or the login name, trimmed; InputError if blank, too long or odd."""
    if name is None:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            raise InputError("cannot tell who is labelling: give --labeller NAME") from None
    name = unicodedata.normalize("NFC", check_text(name, "labeller's name")).strip()
    if not name:
        raise InputError("the labeller's name is blank: give --labeller NAME")
    if len(name) > MAX_LABELLER_CHARS:
        raise InputError(f"the labeller's name is longer than {MAX_LABELLER_CHARS} characters")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise InputError("the labeller's name holds control or invisible characters")
    return name


def sample_rounds(candidates: Sequence[Candidate], n: int, seed: int = DEFAULT_SEED) -> list[Candidate]:
    """``n`` rounds of ``candidates`` (all when fewer), stratified over (round, judge type).

    Each stratum is shuffled with ``seed``; the strata are then visited in a seeded order, taking
    one round from each in turn, so every stratum is represented before any gets a second round
    and the draw for ``n`` is a prefix of the draw for ``n + 1``. The result is shuffled again, so
    rounds of one stratum are not shown together.
    """
    if n < 1:
        raise InputError("--n must be at least 1")
    rng = random.Random(seed)
    strata: dict[tuple[int, str], list[Candidate]] = {}
    for c in sorted(candidates, key=lambda c: c.key):
        strata.setdefault(c.stratum, []).append(c)
    order = sorted(strata)
    rng.shuffle(order)
    for key in order:
        rng.shuffle(strata[key])
    drawn: list[Candidate] = []
    depth = 0
    while len(drawn) < n and any(depth < len(strata[k]) for k in order):
        for key in order:
            if depth < len(strata[key]) and len(drawn) < n:
                drawn.append(strata[key][depth])
        depth += 1
    rng.shuffle(drawn)
    return drawn


@dataclass(frozen=True)
class Draw:
    """A sample to label: ``items`` (what is left for this labeller), out of ``sampled`` rounds
    drawn from ``candidates`` stored ones."""

    items: list[Candidate]
    sampled: int
    candidates: int

    @property
    def already(self) -> int:
        return self.sampled - len(self.items)


def draw(store: Store, sessions: Sequence[uuid.UUID], labeller: str, n: int, seed: int = DEFAULT_SEED,
         again: bool = False) -> Draw:
    """The sample of ``n`` rounds of ``sessions`` (see :func:`sample_rounds`), less those this
    labeller has labelled already unless ``again``: the same command after ``q`` goes on where
    it stopped."""
    if not 1 <= n <= MAX_SAMPLE:
        raise InputError(f"--n must be from 1 to {MAX_SAMPLE}")
    candidates = [Candidate(**row) for row in store.label_candidates(sessions, labeller)]
    if not candidates:
        raise InputError("no stored rounds to label in that selection")
    sampled = sample_rounds(candidates, n, seed)
    items = sampled if again else [c for c in sampled if c.own_label is None]
    return Draw(items=items, sampled=len(sampled), candidates=len(candidates))


SKIPPED = object()


class LabelDesk:
    """The state of a labelling session over ``items``: every label is committed as it is given,
    so quitting, a closed terminal or a crash loses nothing already given. ``undo`` steps back
    over the last give or skip, restoring the label the round had before (or none)."""

    def __init__(self, store: Store, items: Sequence[Candidate], labeller: str):
        self.store = store
        self.items = list(items)
        self.labeller = labeller
        self.pos = 0
        self.given = 0
        self.skipped = 0
        self._history: list[tuple[int, Any]] = []

    @property
    def current(self) -> Candidate | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    @property
    def done(self) -> bool:
        return self.pos >= len(self.items)

    def _key(self, item: Candidate) -> dict[str, Any]:
        return {"session_id": item.session_id, "run_number": item.run_number, "round": item.round,
                "labeller": self.labeller}

    def give(self, label: str, note: str | None = None) -> None:
        item = self.current
        if item is None:
            raise IndexError("no round left to label")
        if label not in MEANINGS:
            raise InputError(f"{label!r} is not an echo type")
        before = self.store.get_label(self._key(item))
        self.store.put_label({**self._key(item), "label": label, "note": clean_note(note)})
        self._history.append((self.pos, before))
        self.given += 1
        self.pos += 1

    def skip(self) -> None:
        if self.current is None:
            raise IndexError("no round left to skip")
        self._history.append((self.pos, SKIPPED))
        self.skipped += 1
        self.pos += 1

    def undo(self) -> bool:
        """Step back over the last give or skip; False when there is nothing to undo."""
        if not self._history:
            return False
        pos, before = self._history.pop()
        item = self.items[pos]
        if before is SKIPPED:
            self.skipped -= 1
        else:
            if before is None:
                self.store.delete_label(self._key(item))
            else:
                self.store.put_label(dict(before))
            self.given -= 1
        self.pos = pos
        return True


def clean_note(note: str | None) -> str | None:
    """The note trimmed, its white space collapsed; None when blank; InputError for one PostgreSQL
    cannot store (:func:`collector.core.textfiles.check_text`) or one over MAX_NOTE_CHARS."""
    if note is None:
        return None
    note = " ".join(check_text(note, "note").split())
    if not note:
        return None
    if len(note) > MAX_NOTE_CHARS:
        raise InputError(f"the note is longer than {MAX_NOTE_CHARS} characters")
    return note


# --- the JSONL format ---------------------------------------------------------------------------

EXPORT_FIELDS = ("session_id", "run_number", "round", "term", "prev", "text", "label", "labeller",
                 "labelled_at", "note", "model_name")
"""What ``label export`` writes: a superset of what ``validate`` reads (term, prev, text, label)."""


def export_line(row: dict[str, Any]) -> str:
    record = {k: row.get(k) for k in EXPORT_FIELDS}
    record["session_id"] = str(record["session_id"])
    if isinstance(record["labelled_at"], datetime):
        record["labelled_at"] = record["labelled_at"].isoformat()
    return json.dumps(record, ensure_ascii=False)


def _int_field(row: dict, name: str, low: int, high: int, where: str) -> int:
    value = row.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InputError(f"{where}: {name} must be a whole number from {low} to {high}")
    return value


CLAIMS = ("term", "model_name", "prev", "text")
"""What a label's line may say of its round (``label export`` writes all four): each one given must
be the stored round's, or the label was given to something else and the file is refused."""


def _claims(row: dict, where: str) -> dict[str, str | None]:
    """The line's CLAIMS (None where absent), each text checked, the term normalised as every term."""
    claims: dict[str, str | None] = {}
    for name in CLAIMS:
        value = row.get(name)
        if value is not None and not isinstance(value, str):
            raise InputError(f"{where}: {name} must be a text")
        try:
            if value is not None:
                value = validate_term(value) if name == "term" else check_text(value, name)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        claims[name] = value
    return claims


def read_import(path: Path, default_labeller: str | None) -> tuple[list[dict[str, Any]], list[int]]:
    """The labels of a JSONL file as raw.round_labels rows (with the CLAIMS each makes of its round)
    and the line number of each; InputError naming the file and line at the first defect."""
    text = read_utf8(path, MAX_IMPORT_BYTES)
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    seen: dict[tuple, int] = {}
    for number, row in json_objects(path, text, MAX_IMPORT_ITEMS):
        where = f"{path}, line {number}"
        try:
            session_id = uuid.UUID(str(row.get("session_id")))
        except ValueError:
            raise InputError(f"{where}: session_id is not a session id") from None
        run_number = _int_field(row, "run_number", 1, 2**31 - 1, where)
        round_ = _int_field(row, "round", 1, 3, where)
        label = row.get("label")
        if not isinstance(label, str) or label.strip().upper() not in MEANINGS:
            raise InputError(f"{where}: label must be one of {', '.join(MEANINGS)}")
        labeller = row.get("labeller", default_labeller)
        if not isinstance(labeller, str):
            raise InputError(f"{where}: labeller must be a text (or give --labeller)")
        try:
            labeller = labeller_name(labeller)
            note = row.get("note")
            if note is not None and not isinstance(note, str):
                raise InputError("note must be a text")
            note = clean_note(note)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        claims = _claims(row, where)
        labelled_at = row.get("labelled_at")
        if labelled_at is not None:
            try:
                stamp = datetime.fromisoformat(str(labelled_at))
            except ValueError:
                raise InputError(f"{where}: labelled_at is not an ISO 8601 time") from None
            if stamp.tzinfo is None:
                raise InputError(f"{where}: labelled_at has no time zone")
            labelled_at = stamp
        key = (session_id, run_number, round_, labeller)
        if key in seen:
            raise InputError(f"{where}: the same round and labeller as line {seen[key]}")
        seen[key] = number
        rows.append({"session_id": session_id, "run_number": run_number, "round": round_, "labeller": labeller,
                     "label": label.strip().upper(), "labelled_at": labelled_at, "note": note, **claims})
        lines.append(number)
    if not rows:
        raise InputError(f"{path} holds no labels")
    return rows, lines


def import_labels(store: Store, path: Path, default_labeller: str | None) -> int:
    """Read ``path`` and store its labels, all or nothing; the number stored."""
    rows, lines = read_import(path, default_labeller)
    try:
        return store.import_labels(rows)
    except UnknownRounds as exc:
        pos, reason = exc.unknown[0]
        more = f" (and {len(exc.unknown) - 1} more)" if len(exc.unknown) > 1 else ""
        raise InputError(f"{path}, line {lines[pos]}: {reason} (session {rows[pos]['session_id']}, "
                         f"run {rows[pos]['run_number']}, round {rows[pos]['round']}){more}; "
                         "nothing was imported") from None
