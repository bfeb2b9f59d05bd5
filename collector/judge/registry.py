"""The judges this collector has: one :class:`JudgeEntry` per judge version, each described by the
module that builds the judge.

Adding a judge is one module and one line: the module defines ``ENTRY`` (a :class:`JudgeEntry`:
its version, a summary, its loader and what it needs), and its name goes into :data:`_MODULES`. A
judge from elsewhere (a test's, a bench's) is added with :func:`register`. Nothing else in the
collector names a judge; what a judge needs (a glossary, the probe model, a server) is read off its
entry.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from collector.core.errors import InputError

if TYPE_CHECKING:
    from collector.core.records import JudgeItem
    from collector.judge.judge import Verdict
    from collector.judge.meaning import Meaning
    from collector.model.lm import LanguageModel


class SessionJudge(Protocol):
    """What the probe and the session row need of a judge (one term's, one session's)."""

    judge_version: str
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
    """A judge version the collector has, as its module describes it."""

    judge_version: str
    summary: str
    load: Callable[[str, LanguageModel | None, dict[str, Any]], TermJudges]
    """``load(judge_version, lm, options)`` -> the loaded judge (called once per process)."""
    uses_references: bool = True
    """Compares with the term's meaning from the glossary (else: with the frame only)."""
    uses_glosses: bool = True
    """Reads the meaning's glosses too (``validate`` then looks them up in the glossary for terms whose
    reference comes from elsewhere; a judge that reads only the references spares it that database)."""
    needs_probe_model: bool = False
    """Needs the probe model's hidden states (so ``rejudge`` and ``validate`` must load a model)."""
    has_endpoint: bool = False
    """Talks to a model server (``--judge-url``, ``--judge-model``, ...; see :data:`ENDPOINT_OPTIONS`),
    checked when it loads, before anything is written."""


_MODULES = (
    "collector.judge.ref3",
    "collector.judge.reference",
    "collector.judge.rules",
    "collector.judge.llm",
)
"""The shipped judges, one module each (its ``ENTRY``); the order is the order messages list them in."""

DEFAULT_JUDGE = "ref-3"
"""The judge a session gets unless ``--judge`` names another."""

ENDPOINT_OPTIONS = {"url": "--judge-url", "model": "--judge-model", "concurrency": "--judge-concurrency",
                    "timeout_s": "--judge-timeout", "allow_self": "--judge-allow-self"}
"""The options of a judge that talks to a model server, and the command-line option of each."""

_entries: dict[str, JudgeEntry] = {}
_shipped_loaded = False
_lock = threading.Lock()


def _load_shipped() -> dict[str, JudgeEntry]:
    """The registry, with the shipped judges' modules imported on first use (their imports are
    not free, and a command that names no judge needs none of them)."""
    global _shipped_loaded
    if not _shipped_loaded:
        with _lock:
            if not _shipped_loaded:
                for name in _MODULES:
                    found = importlib.import_module(name).ENTRY
                    _entries[found.judge_version] = found
                _shipped_loaded = True
    return _entries


def register(new: JudgeEntry, *, replace: bool = False) -> JudgeEntry:
    """Add judge ``new.judge_version`` (a test's or a bench's); a version the registry has already is
    refused unless ``replace`` (ValueError: two modules claiming one version is a programming error).
    Returns the entry."""
    known = _load_shipped()
    if new.judge_version in known and not replace:
        raise ValueError(f"judge {new.judge_version} is registered already")
    known[new.judge_version] = new
    return new


def unregister(judge_version: str) -> None:
    """Remove a judge added with :func:`register` (a shipped one comes back on the next process)."""
    _load_shipped().pop(judge_version, None)


def versions() -> tuple[str, ...]:
    """Every judge version this collector has, shipped ones first in :data:`_MODULES` order."""
    return tuple(_load_shipped())


def entries() -> Iterator[JudgeEntry]:
    """Every judge entry, in the order of :func:`versions`."""
    return iter(tuple(_load_shipped().values()))


def check_judge(judge_version: str) -> str:
    """``judge_version`` if it is a judge this collector has, else one line naming the ones it has."""
    if judge_version not in _load_shipped():
        raise InputError(f"unknown judge {judge_version!r}: choose one of {', '.join(versions())}")
    return judge_version


def entry(judge_version: str) -> JudgeEntry:
    """The entry of ``judge_version`` (InputError naming the judges there are if there is none)."""
    return _load_shipped()[check_judge(judge_version)]
