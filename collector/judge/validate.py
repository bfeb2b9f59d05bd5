"""``nyx-collect validate``: judge a labelled set through the real judge and measure the agreement.

Each item's reference meaning comes from the item itself (``reference``), else from a references
file, else from the glossary in the database (only consulted when some item still lacks one),
else the item is judged against the frame. Its glosses come likewise from the first of these that
has any (the item's ``glosses``/``glosses_de``, the file's, the glossary row of the term), for a
judge that reads glosses (see :func:`meaning_of`). Items are judged exactly as the probe judges a
round: same judge, same encoder, same parameters.

A file read by two readers (``label`` and ``label_b``, as the shared research sets are) is compared
where they agree: the rounds they disagree on have no reference label and are left out, unless
``every_row`` keeps them with the first reader's label. The readers' own agreement, the ceiling for
any judge, is reported beside the judge's (:class:`Readers`).

Each headline figure carries a 95% interval with the set's terms resampled
(:mod:`collector.judge.intervals`): rounds of one term are not independent, and a set of a dozen terms
is a small sample whatever its number of rounds.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from collector.core.errors import InputError
from collector.judge.meaning import Meaning
from collector.judge import registry
from collector.judge.intervals import RESAMPLES, Intervals, term_intervals
from collector.judge.registry import DEFAULT_JUDGE, check_judge
from collector.judge.select import JudgeKit, check_judge_options
from collector.judge.validation import Agreement, LabelledItem, agreement, read_labelled, read_references
from collector.core.params import DEFAULT_PROMPT_TEMPLATE, frame_term
from collector.core.records import JudgeItem


MIN_RESAMPLES, MAX_RESAMPLES = 200, 100_000


@dataclass(frozen=True)
class Readers:
    """Two readers' labels of the same rows (``label`` and ``label_b``): their own agreement and how many
    of their rows were left out of the judge's figures (those they disagree on; 0 with ``every_row``)."""

    rows: int
    left_out: int
    agreement: Agreement

    def as_dict(self) -> dict:
        a = self.agreement
        return {"rows": self.rows, "left_out": self.left_out, "accuracy": a.accuracy, "kappa": a.kappa,
                "continue_stop_accuracy": a.continue_stop_accuracy, "continue_stop_kappa": a.continue_stop_kappa}


@dataclass(frozen=True)
class ValidationReport:
    judge: str
    encoder: str
    file: str
    modes: dict[str, int]  # items judged in each mode
    agreement: Agreement
    predictions: list[tuple[LabelledItem, str, str]]  # item, predicted label, reason
    readers: Readers | None = None  # where the file has a second reader's labels
    intervals: Intervals | None = None  # None: fewer terms than intervals need, or none asked for

    @property
    def terms(self) -> int:
        return len({item.term for item, _, _ in self.predictions})

    def as_dict(self) -> dict:
        return {"judge": self.judge, "encoder": self.encoder, "file": self.file, "modes": self.modes,
                "terms": self.terms, **self.agreement.as_dict(),
                "intervals": self.intervals.as_dict() if self.intervals else None,
                "readers": self.readers.as_dict() if self.readers else None}


def two_readers(path: Path, items: list[LabelledItem], every_row: bool) -> tuple[list[LabelledItem], Readers | None]:
    """The items to compare with (without ``every_row``: not those two readers disagree on) and the
    readers' own agreement over the rows both read; None where no row has a second label."""
    both = [i for i in items if i.label_b is not None]
    if not both:
        return items, None
    kept = items if every_row else [i for i in items if i.label_b in (None, i.label)]
    if not kept:
        raise InputError(f"{path}: the two readers (label, label_b) disagree on every item, so no item has a "
                         "reference label (--every-row compares with the first reader's)")
    readers = Readers(len(both), len(items) - len(kept), agreement([i.label for i in both], [i.label_b for i in both]))
    return kept, readers


def judge_item(item: LabelledItem, template: str = DEFAULT_PROMPT_TEMPLATE) -> JudgeItem:
    """The JudgeItem of a labelled round: a first-round item answers the framed term itself."""
    anchor = frame_term(template, item.term)
    first = item.round == 1 if item.round is not None else item.prev.strip() == anchor
    prev = anchor if first else item.prev
    return JudgeItem(anchor=anchor, prev=prev, text=item.text.strip(), history=[anchor] if first else [anchor, prev])


def _has_glosses(meaning: Meaning | LabelledItem | None) -> bool:
    return meaning is not None and bool(meaning.glosses or meaning.glosses_de)


def meaning_of(item: LabelledItem, from_file: dict[str, Meaning], from_db: dict[str, dict]) -> Meaning | None:
    """What the item is judged against, by the precedence rule: the reference from the item, else the
    references file, else the glossary row of its term; the glosses (English and German together)
    from the first of the item, the file's line and the glossary row that has any. None: frame mode
    (no reference anywhere; glosses alone make no meaning)."""
    filed, stored = from_file.get(item.term), Meaning.from_row(from_db.get(item.term))
    meaning = Meaning(item.reference) if item.reference is not None else filed or stored
    if meaning is None:
        return None
    source = next((m for m in (item, filed, stored) if _has_glosses(m)), None)
    return replace(meaning, glosses=source.glosses if source else (), glosses_de=source.glosses_de if source else ())


def validate_file(path: Path, *, references: Path | None = None, judge_version: str = DEFAULT_JUDGE,
                  model: str | None = None, dsn: str | None = None, use_glossary: bool = True,
                  judge_options: dict | None = None, every_row: bool = False,
                  resamples: int = RESAMPLES) -> ValidationReport:
    """Judge every item of ``path`` and compare with its label (a judge with a server: with the
    server's options, ``judge_options``, checked before the glossary is read). Items two readers
    disagree on are left out unless ``every_row`` (see the module docstring). ``resamples``: of the
    terms, for the intervals (0: none). Stores no verdict."""
    check_judge(judge_version)
    if resamples != 0 and not MIN_RESAMPLES <= resamples <= MAX_RESAMPLES:
        raise InputError(f"--resamples must be 0 (no intervals) or from {MIN_RESAMPLES} to {MAX_RESAMPLES}, "
                         f"not {resamples}")
    options = check_judge_options(judge_version, judge_options)
    items, readers = two_readers(path, read_labelled(path), every_row)
    from_file = read_references(references) if references is not None else {}
    lm = None
    if registry.entry(judge_version).needs_probe_model:
        from collector.model.lm import LanguageModel

        lm = LanguageModel.load(model)
    kit = JudgeKit(judge_version, lm, options)
    wanted = sorted({i.term for i in items
                     if (i.reference is None and i.term not in from_file)
                     or (kit.uses_glosses and not _has_glosses(i) and not _has_glosses(from_file.get(i.term)))})
    from_db: dict[str, dict] = {}
    if wanted and use_glossary and kit.uses_references:
        from collector.db.connect import connect
        from collector.core.glossary import shipped_entries

        with connect(dsn) as store:
            store.migrate()
            store.seed_glossary(shipped_entries())
            from_db = {t: row for t in wanted if (row := store.reference_for(t)) is not None}
    by_term: dict[tuple[str, Meaning | None], list[int]] = {}
    for n, item in enumerate(items):
        by_term.setdefault((item.term, meaning_of(item, from_file, from_db)), []).append(n)
    predicted: list[tuple[str, str]] = [("", "")] * len(items)
    modes: Counter[str] = Counter()
    encoder = ""
    for (term, meaning), numbers in by_term.items():
        session_judge = kit.for_term(term, meaning)
        encoder = session_judge.encoder_name
        verdicts = session_judge.judge([judge_item(items[n]) for n in numbers])
        for n, verdict in zip(numbers, verdicts, strict=True):
            predicted[n] = (verdict.echo_type.value, verdict.reason)
        modes[session_judge.mode] += len(numbers)
    gold, called = [i.label for i in items], [p for p, _ in predicted]
    return ValidationReport(judge=kit.judge_version, encoder=encoder, file=str(path), modes=dict(modes),
                            agreement=agreement(gold, called),
                            predictions=[(i, p, r) for i, (p, r) in zip(items, predicted, strict=True)],
                            readers=readers,
                            intervals=term_intervals([i.term for i in items], gold, called, resamples=resamples))
