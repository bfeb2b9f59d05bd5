"""Which judge a session uses: the registry of judge versions, each loaded once per process and
built per term.

Adding a judge is one module that builds it and one entry in :data:`REGISTRY`; nothing else names
judges. A reference judge (``ref-*``) is a parameter file pair in ``collector/judge/params/``
(``VERSION.json`` + ``VERSION.calibration.npz``) read by :mod:`collector.judge.reference`.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from collector.core.errors import InputError, ModelError
from collector.judge.classifier import CLASSIFIER_VERSION

if TYPE_CHECKING:
    from collector.judge.judge import Verdict
    from collector.judge.meaning import Meaning
    from collector.model.lm import LanguageModel
    from collector.core.records import JudgeItem


class SessionJudge(Protocol):
    """What the probe and the session row need of a judge."""

    version: str
    mode: str
    glossary_id: int | None

    @property
    def encoder_name(self) -> str: ...

    def judge(self, items: list[JudgeItem]) -> list[Verdict]: ...


class TermJudges(Protocol):
    """One judge version loaded for a process: builds the judge of one term."""

    def for_term(self, term: str, meaning: Meaning | None, glossary_id: int | None) -> SessionJudge: ...


@dataclass(frozen=True)
class JudgeEntry:
    """A judge version the collector has."""

    version: str
    summary: str
    load: Callable[..., TermJudges]
    """``load(version, lm, options)`` -> the loaded judge (called once per process)."""
    uses_references: bool = True
    """Compares with the term's meaning from the glossary (else: with the frame only)."""
    uses_glosses: bool = True
    """Reads the meaning's glosses too (``validate`` then looks them up in the glossary for terms whose
    reference comes from elsewhere; a judge that reads only the references spares it that database)."""
    needs_probe_model: bool = False
    """Needs the probe model's hidden states (so ``rejudge`` and ``validate`` must load a model)."""
    endpoint: bool = False
    """Talks to a model server (``--judge-url``, ``--judge-model``, ...; see :data:`ENDPOINT_OPTIONS`),
    checked when it loads, before anything is written."""


# --- the reference judges: fitted parameters in collector/judge/params ------------------------------


@functools.cache
def _reference_parts(version: str, load_params: Callable[[str], Any]):
    """The encoder, the parameters (read by ``load_params``) and the calibration of reference judge
    ``version``, loaded once per process."""
    from collector.judge import reference as rj
    from collector.judge.encoder import SentenceEncoder

    folder = importlib.resources.files("collector.judge").joinpath("params")
    try:
        with importlib.resources.as_file(folder.joinpath(f"{version}.json")) as path:
            params = load_params(str(path))
        with importlib.resources.as_file(folder.joinpath(f"{version}.calibration.npz")) as path:
            calibration = rj.Calibration.load(str(path))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"the parameters of judge {version} are missing or unreadable: {exc}") from None
    if params.version != version:
        raise ModelError(f"collector/judge/params/{version}.json holds judge {params.version}, not {version}")
    return SentenceEncoder(), params, calibration


class _ReferenceJudges:
    """ref-2: the fitted rules of :mod:`collector.judge.reference`."""

    def __init__(self, version: str, lm: LanguageModel | None = None, options: dict | None = None) -> None:
        self.encoder, self.params, self.calibration = _reference_parts(version, self.load_params())

    @staticmethod
    def load_params() -> Callable[[str], Any]:
        from collector.judge.reference import JudgeParams

        return JudgeParams.load

    @staticmethod
    def judge_class() -> type:
        from collector.judge.judge import ReferenceJudge

        return ReferenceJudge

    def for_term(self, term: str, meaning: Meaning | None, glossary_id: int | None) -> SessionJudge:
        return self.judge_class()(self.encoder, self.params, self.calibration, term, meaning, glossary_id)


class _Ref3Judges(_ReferenceJudges):
    """ref-3: :mod:`collector.judge.ref3` (reference sentences, glosses, shared words)."""

    @staticmethod
    def load_params() -> Callable[[str], Any]:
        from collector.judge.ref3 import Ref3Params

        return Ref3Params.load

    @staticmethod
    def judge_class() -> type:
        from collector.judge.judge import Ref3Judge

        return Ref3Judge


class _RulesJudges:
    def __init__(self, version: str, lm: LanguageModel | None = None, options: dict | None = None) -> None:
        if lm is None:
            raise InputError(f"judge {version} needs the probe model's hidden states: load a model")
        self.lm = lm

    def for_term(self, term: str, meaning: Meaning | None, glossary_id: int | None) -> SessionJudge:
        from collector.judge.judge import Judge

        return Judge(self.lm)


def _llm_judges(version: str, lm: LanguageModel | None = None, options: dict | None = None) -> TermJudges:
    from collector.judge.llm import LlmJudges

    return LlmJudges(version, lm, options)


REGISTRY: dict[str, JudgeEntry] = {entry.version: entry for entry in (
    JudgeEntry("ref-3", "reference meaning, its sentences and accepted glosses, multilingual-e5-small, fitted on "
               "hand-written, SmolLM2 and Qwen-Coder rounds", _Ref3Judges),
    JudgeEntry("ref-2", "reference meaning, multilingual-e5-small, fitted on hand-written and SmolLM2 rounds",
               _ReferenceJudges, uses_glosses=False),
    JudgeEntry(CLASSIFIER_VERSION, "the first judge: the probe model's hidden states against the frame",
               _RulesJudges, uses_references=False, uses_glosses=False, needs_probe_model=True),
    JudgeEntry("llm-1", "an LLM on an OpenAI-compatible server (--judge-url, --judge-model) with a pinned prompt",
               _llm_judges, endpoint=True),
)}
"""Every judge version, by name; the order is the order help texts list them in."""

JUDGES = tuple(REGISTRY)
DEFAULT_JUDGE = "ref-3"


def check_judge(name: str) -> str:
    """``name`` if it is a judge this collector has, else one line naming the ones it has."""
    if name not in REGISTRY:
        raise InputError(f"unknown judge {name!r}: choose one of {', '.join(JUDGES)}")
    return name


ENDPOINT_OPTIONS = {"url": "--judge-url", "model": "--judge-model", "concurrency": "--judge-concurrency",
                    "timeout_s": "--judge-timeout", "allow_self": "--judge-allow-self"}
"""The options of a judge that talks to a model server, and the command-line option of each."""


def check_judge_options(version: str, options: dict[str, Any] | None) -> dict[str, Any]:
    """The options given for judge ``version``, checked before anything loads: the server's options
    are refused for a judge without one (conflicting options), and bounded for one with a server."""
    given = {k: v for k, v in (options or {}).items() if not (v is None or v is False or v == "")}
    entry = REGISTRY[check_judge(version)]
    if not entry.endpoint:
        stray = [ENDPOINT_OPTIONS[k] for k in given if k in ENDPOINT_OPTIONS]
        if stray:
            endpoint_judges = ", ".join(e.version for e in REGISTRY.values() if e.endpoint)
            raise InputError(f"{', '.join(stray)} {'is' if len(stray) == 1 else 'are'} for a judge with a server "
                             f"({endpoint_judges}), not for {version}")
    else:
        from collector.judge.llm_client import EndpointConfig

        EndpointConfig.from_options(given)  # bounds, URL and model id (or their variables), without a request
    return given


def judge_settings(judge: SessionJudge) -> dict[str, Any] | None:
    """What a session records of its judge beyond version, mode and encoder (an LLM judge: the model
    as the server reports it, the prompt version, the decoding settings); None for the others."""
    return getattr(judge, "settings", None)


class JudgeKit:
    """One judge version for a process: loaded once, and :meth:`for_term` builds the judge of one
    session (with the term's meaning, if any). ``options`` are the judge's own settings (an LLM
    judge's endpoint, say); ``lm`` the probe model, for a judge that needs it."""

    def __init__(self, version: str, lm: LanguageModel | None = None, options: dict[str, Any] | None = None) -> None:
        self.entry = REGISTRY[check_judge(version)]
        self.version = version
        self.lm = lm
        self._judges = self.entry.load(version, lm, options or {})

    @property
    def uses_references(self) -> bool:
        return self.entry.uses_references

    @property
    def uses_glosses(self) -> bool:
        return self.entry.uses_references and self.entry.uses_glosses

    @staticmethod
    def version_needs_probe_model(version: str) -> bool:
        """Whether judge ``version`` needs the probe model loaded."""
        return REGISTRY[check_judge(version)].needs_probe_model

    @staticmethod
    def version_has_endpoint(version: str) -> bool:
        """Whether judge ``version`` talks to a model server (then load it before anything is written)."""
        return REGISTRY[check_judge(version)].endpoint

    @property
    def settings(self) -> dict[str, Any] | None:
        """What its sessions record of the judge beyond version, mode and encoder (see :func:`judge_settings`)."""
        return getattr(self._judges, "settings", None)

    @property
    def encoder_name(self) -> str | None:
        """The encoder (or served model) of a judge with a server; None where it is known only per term."""
        return getattr(self._judges, "encoder_name", None)

    def check_probed_model(self, name: str) -> None:
        """Refuse (InputError) a judge that would be the probed model ``name`` judging itself."""
        check = getattr(self._judges, "check_probed_model", None)
        if check is not None:
            check(name)

    def for_term(self, term: str, meaning: Meaning | None = None, glossary_id: int | None = None) -> SessionJudge:
        if not self.uses_references:
            meaning, glossary_id = None, None
        return self._judges.for_term(term, meaning, glossary_id)
