"""Glue between the probe model and the rules: embeds a batch of completions and classifies them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from collector.judge.classifier import DEFAULT_THRESHOLDS, TextFeatures, Thresholds, classify, text_features
from collector.probe.lm import LanguageModel, similarity
from collector.records import EchoType, JudgeItem


@dataclass(frozen=True)
class Verdict:
    """The echo type of one completion and every feature it was decided on."""

    echo_type: EchoType
    text: TextFeatures
    sim_term: float | None
    sim_prev: float | None

    @property
    def features(self) -> dict[str, float | int | None]:
        """The numeric features by name (see :data:`FEATURE_NAMES`)."""
        return {**asdict(self.text), "sim_term": self.sim_term, "sim_prev": self.sim_prev}


FEATURE_NAMES = (*(f.name for f in fields(TextFeatures)), "sim_term", "sim_prev")
"""The numeric features of a verdict: columns of raw.probe_rounds, fields of RoundRecord."""


class Judge:
    """Classifies completions with the model's own embeddings and the rules of :mod:`collector.judge.classifier`."""

    def __init__(self, lm: LanguageModel, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> None:
        self.lm = lm
        self.thresholds = thresholds

    def judge(self, items: list[JudgeItem]) -> list[Verdict]:
        """One verdict per item, in order; all texts of the batch are embedded in one call."""
        if not items:
            return []
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
