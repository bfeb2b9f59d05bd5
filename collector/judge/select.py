"""The judge of a process and of each session: :class:`JudgeKit` loads one judge version from the
registry (:mod:`collector.judge.registry`) once, and builds the judge of each term from it.

Nothing here names a judge: what a judge needs (the glossary, the probe model, a server) is read off
its registry entry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from collector.core.errors import InputError
from collector.judge import registry
from collector.judge.registry import ENDPOINT_OPTIONS, SessionJudge

if TYPE_CHECKING:
    from collector.judge.meaning import Meaning
    from collector.model.lm import LanguageModel

__all__ = ["JudgeKit", "check_judge_options", "judge_settings"]


def check_judge_options(judge_version: str, options: dict[str, Any] | None) -> dict[str, Any]:
    """The options given for judge ``judge_version``, checked before anything loads: the server's
    options are refused for a judge without one (conflicting options), and bounded for one with a
    server."""
    given = {k: v for k, v in (options or {}).items() if not (v is None or v is False or v == "")}
    if not registry.entry(judge_version).has_endpoint:
        stray = [ENDPOINT_OPTIONS[k] for k in given if k in ENDPOINT_OPTIONS]
        if stray:
            endpoint_judges = ", ".join(e.judge_version for e in registry.entries() if e.has_endpoint)
            raise InputError(f"{', '.join(stray)} {'is' if len(stray) == 1 else 'are'} for a judge with a server "
                             f"({endpoint_judges}), not for {judge_version}")
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

    def __init__(self, judge_version: str, lm: LanguageModel | None = None,
                 options: dict[str, Any] | None = None) -> None:
        self.entry = registry.entry(judge_version)
        self.judge_version = judge_version
        self.lm = lm
        self._judges = self.entry.load(judge_version, lm, options or {})

    @property
    def uses_references(self) -> bool:
        return self.entry.uses_references

    @property
    def uses_glosses(self) -> bool:
        return self.entry.uses_references and self.entry.uses_glosses

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
