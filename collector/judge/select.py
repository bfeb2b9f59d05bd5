"""Which judge a session uses: the judges by version, loaded once per process, built per term."""

from __future__ import annotations

import functools
import importlib.resources
from typing import TYPE_CHECKING, Protocol

from collector.errors import InputError, ModelError
from collector.judge.classifier import CLASSIFIER_VERSION

if TYPE_CHECKING:
    from collector.judge.judge import Verdict
    from collector.probe.lm import LanguageModel
    from collector.records import JudgeItem

REFERENCE_JUDGES = ("ref-2",)
"""Fitted reference judges shipped in ``collector/judge/params/`` (VERSION.json + VERSION.calibration.npz)."""
JUDGES = (*REFERENCE_JUDGES, CLASSIFIER_VERSION)
DEFAULT_JUDGE = REFERENCE_JUDGES[-1]


class SessionJudge(Protocol):
    """What the probe and the session row need of a judge."""

    version: str
    mode: str
    glossary_id: int | None

    @property
    def encoder_name(self) -> str: ...

    def judge(self, items: list[JudgeItem]) -> list[Verdict]: ...


def check_judge(name: str) -> str:
    """``name`` if it is a judge this collector has, else one line naming the ones it has."""
    if name not in JUDGES:
        raise InputError(f"unknown judge {name!r}: choose one of {', '.join(JUDGES)}")
    return name


@functools.cache
def _reference_parts(version: str):
    from collector.judge import reference as rj
    from collector.judge.encoder import SentenceEncoder

    folder = importlib.resources.files("collector.judge").joinpath("params")
    try:
        with importlib.resources.as_file(folder.joinpath(f"{version}.json")) as path:
            params = rj.JudgeParams.load(str(path))
        with importlib.resources.as_file(folder.joinpath(f"{version}.calibration.npz")) as path:
            calibration = rj.Calibration.load(str(path))
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"the parameters of judge {version} are missing or unreadable: {exc}") from None
    if params.version != version:
        raise ModelError(f"collector/judge/params/{version}.json holds judge {params.version}, not {version}")
    return SentenceEncoder(), params, calibration


class JudgeKit:
    """One judge version for a process: its encoder and parameters are loaded once, and
    :meth:`for_term` builds the judge of one session (with the term's reference meaning, if any)."""

    def __init__(self, version: str, lm: LanguageModel | None = None) -> None:
        self.version = check_judge(version)
        self.lm = lm
        if version == CLASSIFIER_VERSION:
            if lm is None:
                raise InputError(f"judge {version} needs the probe model's hidden states: load a model")
            self._parts = None
        else:
            self._parts = _reference_parts(version)

    @property
    def uses_references(self) -> bool:
        return self._parts is not None

    @staticmethod
    def version_uses_references(version: str) -> bool:
        """Whether judge ``version`` compares with reference meanings (it needs no probe model)."""
        return check_judge(version) in REFERENCE_JUDGES

    def for_term(self, term: str, references: list[str] | None = None,
                 glossary_id: int | None = None) -> SessionJudge:
        from collector.judge.judge import Judge, ReferenceJudge

        if self._parts is None:
            return Judge(self.lm)
        encoder, params, calibration = self._parts
        return ReferenceJudge(encoder, params, calibration, term, references, glossary_id)
