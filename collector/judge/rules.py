"""rules-1, the first judge (its registry entry): the probe model's hidden states and the hand-set
rules of :mod:`collector.judge.classifier`, always against the frame; kept so old sessions can be
resumed and compared. The per-session judge is :class:`collector.judge.judge.Judge`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from collector.core.errors import InputError
from collector.judge.classifier import CLASSIFIER_VERSION
from collector.judge.registry import JudgeEntry

if TYPE_CHECKING:
    from collector.judge.judge import Judge
    from collector.judge.meaning import Meaning
    from collector.model.lm import LanguageModel


class RulesJudges:
    """rules-1 loaded for a process: the probe model it reads the hidden states of."""

    def __init__(self, judge_version: str, lm: LanguageModel | None = None, options: dict[str, Any] | None = None,
                 ) -> None:
        if lm is None:
            raise InputError(f"judge {judge_version} needs the probe model's hidden states: load a model")
        self.lm = lm

    def for_term(self, term: str, meaning: Meaning | None, glossary_id: int | None) -> Judge:
        from collector.judge.judge import Judge

        return Judge(self.lm)


ENTRY = JudgeEntry(CLASSIFIER_VERSION, "the first judge: the probe model's hidden states against the frame",
                   RulesJudges, uses_references=False, uses_glosses=False, needs_probe_model=True)
