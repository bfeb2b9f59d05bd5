"""Agreement between the judge and human labels: the numbers `nyx-collect validate` reports.

Pure and small: a labelled set is read from JSONL (:func:`read_labelled`), judged elsewhere, and
compared here (:func:`agreement`). Accuracy alone flatters a judge on a set where one type
dominates (real SmolLM2 rounds are mostly DIVERGENT), so Cohen's kappa stands beside it, and the
continue/stop accuracy measures the one decision that sets a chain's depth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from collector.core.errors import InputError
from collector.core.glossary import check_glosses
from collector.judge.meaning import Meaning
from collector.core.params import validate_term
from collector.core.records import EchoType
from collector.core.textfiles import json_objects, read_utf8

LABELS: tuple[str, ...] = tuple(t.value for t in EchoType)
MAX_ITEMS = 100_000
MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class LabelledItem:
    """One labelled round: the completion ``text`` answering ``prev``, with the human ``label`` (and a
    second reader's, ``label_b``, where two read it)."""

    term: str
    prev: str
    text: str
    label: str
    reference: str | None = None
    round: int | None = None
    id: str | None = None
    glosses: tuple[str, ...] = ()
    glosses_de: tuple[str, ...] = ()
    label_b: str | None = None


def read_labelled(path: Path) -> list[LabelledItem]:
    """The items of a JSONL file (term, prev, text, label; optional label_b, a second reader's label,
    reference, glosses, glosses_de, round, id).

    Any defect names the file and line in one message; nothing is judged from a half-read file.
    """
    items = []
    for number, row in _json_lines(path):
        missing = [k for k in ("term", "prev", "text", "label") if not isinstance(row.get(k), str)]
        if missing:
            raise InputError(f"{path}, line {number}: missing or non-text field(s) {', '.join(missing)}")
        label = row["label"].strip().upper()
        if label not in LABELS:
            raise InputError(f"{path}, line {number}: label {row['label']!r} is not one of {', '.join(LABELS)}")
        label_b = row.get("label_b")
        if label_b is not None:
            if not isinstance(label_b, str) or label_b.strip().upper() not in LABELS:
                raise InputError(f"{path}, line {number}: label_b {label_b!r} is not one of {', '.join(LABELS)}")
            label_b = label_b.strip().upper()
        try:
            term = validate_term(row["term"])
        except InputError as exc:
            raise InputError(f"{path}, line {number}: {exc}") from None
        reference = row.get("reference")
        if reference is not None and (not isinstance(reference, str) or not reference.strip()):
            raise InputError(f"{path}, line {number}: reference must be a non-blank text when given")
        round_ = row.get("round")
        if round_ is not None and (not isinstance(round_, int) or isinstance(round_, bool) or not 1 <= round_ <= 3):
            raise InputError(f"{path}, line {number}: round must be 1, 2 or 3 when given")
        glosses, glosses_de = _glosses(path, number, row)
        items.append(LabelledItem(term=term, prev=row["prev"], text=row["text"], label=label,
                                  reference=reference, round=round_,
                                  id=str(row["id"]) if row.get("id") is not None else None,
                                  glosses=glosses, glosses_de=glosses_de, label_b=label_b))
    if not items:
        raise InputError(f"{path} holds no labelled items")
    return items


def read_references(path: Path) -> dict[str, Meaning]:
    """term -> its meaning, from a JSONL file of term, reference, optional reference_de, glosses, glosses_de
    (lists of texts, checked and normalised as the glossary's)."""
    references = {}
    for number, row in _json_lines(path):
        term, reference = row.get("term"), row.get("reference")
        if not isinstance(term, str) or not term.strip() or not isinstance(reference, str) or not reference.strip():
            raise InputError(f"{path}, line {number}: each line needs a non-blank term and reference")
        try:
            term = validate_term(term)
        except InputError as exc:
            raise InputError(f"{path}, line {number}: {exc}") from None
        german = row.get("reference_de")
        glosses, glosses_de = _glosses(path, number, row)
        references[term] = Meaning(reference, german if isinstance(german, str) and german.strip() else None,
                                   glosses, glosses_de)
    return references


def _glosses(path: Path, number: int, row: dict) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A line's optional ``glosses`` and ``glosses_de``, or one line naming the file and line."""
    try:
        return check_glosses(row.get("glosses"), "gloss"), check_glosses(row.get("glosses_de"), "German gloss")
    except InputError as exc:
        raise InputError(f"{path}, line {number}: {exc}") from None


def _json_lines(path: Path):
    return json_objects(path, read_utf8(path, MAX_FILE_BYTES), MAX_ITEMS)


@dataclass(frozen=True)
class ClassScores:
    precision: float | None
    recall: float | None
    f1: float | None
    support: int


@dataclass(frozen=True)
class Agreement:
    """How far predicted labels agree with gold labels."""

    n: int
    accuracy: float
    kappa: float | None
    continue_stop_accuracy: float
    continue_stop_kappa: float | None
    per_class: dict[str, ClassScores]
    confusion: dict[str, dict[str, int]] = field(repr=False)  # gold -> predicted -> count

    def as_dict(self) -> dict:
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "kappa": self.kappa,
            "continue_stop_accuracy": self.continue_stop_accuracy,
            "continue_stop_kappa": self.continue_stop_kappa,
            "per_class": {k: vars(v) for k, v in self.per_class.items()},
            "confusion": self.confusion,
        }


def cohen_kappa(gold: Sequence[str], predicted: Sequence[str]) -> float | None:
    """Cohen's kappa; None when chance agreement is 1 (every label the same on both sides)."""
    n = len(gold)
    observed = sum(g == p for g, p in zip(gold, predicted, strict=True)) / n
    labels = set(gold) | set(predicted)
    expected = sum((list(gold).count(k) / n) * (list(predicted).count(k) / n) for k in labels)
    return None if expected >= 1 else (observed - expected) / (1 - expected)


def agreement(gold: Sequence[str], predicted: Sequence[str]) -> Agreement:
    """Accuracy, Cohen's kappa, per-class precision/recall/F1, the confusion matrix and the
    accuracy of the continue/stop decision (EXPANDS and CONFIRMS continue a chain)."""
    if len(gold) != len(predicted) or not gold:
        raise ValueError("agreement needs as many predictions as gold labels, at least one")
    n = len(gold)
    confusion = {g: {p: 0 for p in LABELS} for g in LABELS}
    for g, p in zip(gold, predicted, strict=True):
        confusion[g][p] += 1
    per_class = {}
    for label in LABELS:
        tp = confusion[label][label]
        support = sum(confusion[label].values())
        called = sum(confusion[g][label] for g in LABELS)
        precision = tp / called if called else None
        recall = tp / support if support else None
        f1 = (2 * precision * recall / (precision + recall) if precision is not None and recall is not None
              and precision + recall > 0 else (0.0 if precision is not None and recall is not None else None))
        per_class[label] = ClassScores(precision, recall, f1, support)
    continues = [EchoType(g).continues for g in gold]
    called_continue = [EchoType(p).continues for p in predicted]
    return Agreement(
        n=n,
        accuracy=sum(g == p for g, p in zip(gold, predicted, strict=True)) / n,
        kappa=cohen_kappa(gold, predicted),
        continue_stop_accuracy=sum(a == b for a, b in zip(continues, called_continue, strict=True)) / n,
        continue_stop_kappa=cohen_kappa([str(c) for c in continues], [str(c) for c in called_continue]),
        per_class=per_class,
        confusion=confusion,
    )
