"""A judge for tests that records the Meaning each term's judge is built with (what a real judge
would compare with), and calls every round CONFIRMS. Registered by the ``meaning_judge`` fixture,
so a test can check which reference and glosses reach a judge through collect, rejudge or validate
without depending on any particular judge's scores."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from collector.judge import registry
from collector.judge.classifier import TextFeatures
from collector.judge.judge import Verdict
from collector.judge.meaning import Meaning
from collector.core.records import EchoType, JudgeItem

VERSION = "test-meaning"


class _TermJudge:
    judge_version = VERSION
    encoder_name = "none (test judge)"

    def __init__(self, term: str, meaning: Meaning | None, glossary_id: int | None) -> None:
        self.term, self.meaning, self.glossary_id = term, meaning, glossary_id
        self.mode = "reference" if meaning else "frame"

    def judge(self, items: list[JudgeItem]) -> list[Verdict]:
        features = TextFeatures(n_words=5, distinct_ratio=1.0, nonletter_ratio=0.0, content_words=3, new_stems=1,
                                novelty=1.0)
        return [Verdict(EchoType.CONFIRMS, features, None, None, None, "test judge") for _ in items]


class MeaningJudges:
    """The loaded test judge; ``seen`` maps each term to the Meaning its judge was last built with."""

    seen: dict[str, Meaning | None] = {}

    def __init__(self, judge_version: str, lm=None, options: dict | None = None) -> None:
        MeaningJudges.seen = {}

    def for_term(self, term: str, meaning: Meaning | None, glossary_id: int | None) -> _TermJudge:
        MeaningJudges.seen[term] = meaning
        return _TermJudge(term, meaning, glossary_id)


@pytest.fixture
def meaning_judge() -> Iterator[type[MeaningJudges]]:
    """Judge version ``test-meaning`` registered for one test."""
    registry.register(registry.JudgeEntry(VERSION, "records the meaning it is given", MeaningJudges))
    try:
        yield MeaningJudges
    finally:
        registry.unregister(VERSION)
