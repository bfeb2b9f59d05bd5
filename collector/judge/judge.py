"""The judges: each embeds a batch of completions and decides their echo types.

The judges share one interface (``judge_version``, ``mode``, ``encoder``, :meth:`judge`):

* :class:`ReferenceJudge` (the default, ``ref-2``): a fixed multilingual sentence encoder
  (:mod:`collector.judge.encoder`) and fitted rules (:mod:`collector.judge.reference`) that compare
  every round with the term's reference meaning from the glossary (mode ``reference``), or with the
  framed term when the term has none (mode ``frame``, much weaker: it cannot tell a confident wrong
  meaning from a right one).
* :class:`Judge` (``rules-1``, the first judge, kept so old sessions can be resumed and compared):
  the probe model's own hidden states and the hand-set rules of :mod:`collector.judge.classifier`,
  always against the framed term.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING

from collector.judge import ref3
from collector.judge import reference as rj
from collector.judge.classifier import (CLASSIFIER_VERSION, DEFAULT_THRESHOLDS, TextFeatures, Thresholds, classify,
                                        text_features)
from collector.core.records import EchoType, JudgeItem

if TYPE_CHECKING:
    from collector.judge.encoder import SentenceEncoder
    from collector.judge.meaning import Meaning
    from collector.model.lm import LanguageModel

__all__ = ["FEATURE_NAMES", "Judge", "JudgeItem", "ReferenceJudge", "Verdict"]


@dataclass(frozen=True)
class Verdict:
    """The echo type of one completion and every feature it was decided on."""

    echo_type: EchoType
    text: TextFeatures
    sim_term: float | None
    sim_prev: float | None
    sim_ref: float | None = None
    reason: str = ""

    @property
    def features(self) -> dict[str, float | int | None]:
        """The stored numeric features by name (see :data:`FEATURE_NAMES`)."""
        return {**asdict(self.text), "sim_term": self.sim_term, "sim_prev": self.sim_prev, "sim_ref": self.sim_ref}


FEATURE_NAMES = (*(f.name for f in fields(TextFeatures)), "sim_term", "sim_prev", "sim_ref")
"""The numeric features of a verdict: columns of raw.probe_rounds, fields of RoundRecord."""


class Judge:
    """rules-1: the model's own embeddings and the rules of :mod:`collector.judge.classifier`."""

    judge_version = CLASSIFIER_VERSION
    mode = "frame"
    encoder_name = "probe-model-hidden-states"
    glossary_id = None

    def __init__(self, lm: LanguageModel, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> None:
        self.lm = lm
        self.thresholds = thresholds

    def judge(self, items: list[JudgeItem]) -> list[Verdict]:
        """One verdict per item, in order; all texts of the batch are embedded in one call."""
        if not items:
            return []
        from collector.model.lm import similarity

        unique: dict[str, int] = {}
        for item in items:
            for s in (item.anchor, item.prev, item.text):
                unique.setdefault(s, len(unique))
        embeddings = self.lm.embed(list(unique))
        texts = embeddings.take([unique[i.text] for i in items])
        sim_term = similarity(embeddings.take([unique[i.anchor] for i in items]), texts)
        sim_prev = similarity(embeddings.take([unique[i.prev] for i in items]), texts)
        verdicts = []
        for item, st, sp in zip(items, sim_term, sim_prev, strict=True):
            tf = text_features(item.text, item.history)
            echo_type = classify(tf, st, sp, self.thresholds, first_round=item.prev == item.anchor)
            verdicts.append(Verdict(echo_type=echo_type, text=tf, sim_term=st, sim_prev=sp))
        return verdicts


class ReferenceJudge:
    """The fitted judge for one term: every round against the term's reference meaning.

    ``meaning`` holds the term's reference texts (English, then German where there is one); without
    one the judge runs in ``frame`` mode. ``glossary_id`` names the glossary row it came from
    (recorded with the session). Items are the same :class:`JudgeItem` the probe builds: ``anchor``
    the framed term, ``prev`` the text answered, ``history`` the anchor and then every completion
    before this one (a first-round item has ``prev == anchor``).
    """

    def __init__(self, encoder: SentenceEncoder, params: rj.JudgeParams, calibration: rj.Calibration,
                 term: str, meaning: Meaning | None = None, glossary_id: int | None = None) -> None:
        self.encoder = encoder
        self.params = params
        self.calibration = calibration
        self.term = term
        self.references = [r for r in (meaning.references if meaning else []) if r and r.strip()]
        self.mode = "reference" if self.references else "frame"
        self.glossary_id = glossary_id if self.references else None
        self.judge_version = params.version
        prefix = params.reference_prefix
        firsts = [rj.first_sentence(r) for r in self.references]
        self._reference_vecs = encoder.embed(self.references, prefix) if self.references else []
        self._first_vecs = encoder.embed(firsts, prefix) if firsts else []
        self._own_first = [rj.sha256(f) for f in firsts]

    @property
    def encoder_name(self) -> str:
        return self.encoder.name

    def judge(self, items: list[JudgeItem]) -> list[Verdict]:
        """One verdict per item, in order; the batch's distinct texts are embedded in one call."""
        if not items:
            return []
        unique: dict[str, int] = {}
        for item in items:
            for s in (item.anchor, item.prev, item.text, *item.history):
                unique.setdefault(s, len(unique))
        vectors = self.encoder.embed(list(unique), self.params.text_prefix)
        verdicts = []
        for item in items:
            first = item.prev == item.anchor
            earlier = [] if first else [t for t in item.history if t != item.anchor]
            if not first and (not earlier or earlier[-1] != item.prev):
                earlier.append(item.prev)
            earlier_vecs = [vectors[unique[t]] for t in earlier]
            sims = rj.similarities(vectors[unique[item.text]], vectors[unique[item.anchor]], self._reference_vecs,
                                   earlier_vecs, self._first_vecs, self.calibration, self._own_first)
            history = [self.term, item.anchor, *earlier]  # as the fit saw real chains
            feats = rj.features(item.text, item.prev, history, 1 if first else 2, sims)
            label, reason = rj.decide(feats, self.params, self.mode)
            tf = TextFeatures(**{f.name: feats[f.name] for f in fields(TextFeatures)})
            sim_prev = sims["sim_frame"] if first else sims["sim_prev"]
            verdicts.append(Verdict(echo_type=EchoType(label), text=tf, sim_term=sims["sim_frame"],
                                    sim_prev=sim_prev, sim_ref=sims["sim_ref"], reason=reason))
        return verdicts


class Ref3Judge:
    """ref-3 for one term (:mod:`collector.judge.ref3`): every round against the reference meaning, its
    sentences and the accepted glosses (the glossary's and those read off the reference), calibrated
    anchor by anchor, plus the words the text shares with them. Without a meaning: ``frame`` mode."""

    def __init__(self, encoder: SentenceEncoder, params: ref3.Ref3Params, calibration: rj.Calibration,
                 term: str, meaning: Meaning | None = None, glossary_id: int | None = None) -> None:
        self.encoder = encoder
        self.params = params
        self.term = term
        references = [r for r in (meaning.references if meaning else []) if r and r.strip()]
        self.mode = "reference" if references else "frame"
        self.glossary_id = glossary_id if references else None
        self.judge_version = params.version
        glosses = meaning.all_glosses if meaning and references else []
        self.anchors = ref3.build_anchors(term, references, glosses, lambda texts: encoder.embed(texts, "query"),
                                          calibration)

    @property
    def encoder_name(self) -> str:
        return self.encoder.name

    def judge(self, items: list[JudgeItem]) -> list[Verdict]:
        """One verdict per item, in order; the batch's distinct texts are embedded in one call. A round is
        judged from its text, the text it answers and the frame, whatever else its history holds."""
        if not items:
            return []
        unique: dict[str, int] = {}
        for item in items:
            for s in (item.anchor, item.prev, item.text):
                unique.setdefault(s, len(unique))
        vectors = self.encoder.embed(list(unique), "query")
        verdicts = []
        for item in items:
            first = item.prev == item.anchor
            feats = ref3.round_features(item.text, item.prev, first, vectors[unique[item.text]],
                                        vectors[unique[item.prev]], vectors[unique[item.anchor]], self.anchors,
                                        self.params, self.term)
            label, reason = ref3.decide(feats, self.params, self.mode)
            tf = TextFeatures(**{f.name: feats[f.name] for f in fields(TextFeatures)})
            verdicts.append(Verdict(echo_type=EchoType(label), text=tf, sim_term=feats["sim_frame"],
                                    sim_prev=feats["sim_frame"] if first else feats["sim_prev"],
                                    sim_ref=feats["sim_ref"], reason=reason))
        return verdicts
