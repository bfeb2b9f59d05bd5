"""Typed records that flow from the probe to the store. Pure data, no behaviour beyond validation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


class EchoType(str, Enum):
    """The five echo types of a probe round (see README, "The echo probe")."""

    EXPANDS = "EXPANDS"
    CONFIRMS = "CONFIRMS"
    CIRCULAR = "CIRCULAR"
    DIVERGENT = "DIVERGENT"
    COLLAPSE = "COLLAPSE"

    @property
    def continues(self) -> bool:
        """Whether a chain goes on after a round of this type."""
        return self in (EchoType.EXPANDS, EchoType.CONFIRMS)


@dataclass(frozen=True)
class JudgeItem:
    """One completion to judge.

    ``anchor`` is the framed term (the round-1 prompt, e.g. ``The word "Aufhebung" means``),
    ``prev`` the text the completion answers (for round 1 the anchor itself), ``text`` the
    completion, ``history`` the chain so far, the term first and ``prev`` last. An item whose
    ``prev`` equals its ``anchor`` is a first-round item and is classified as such.
    """

    anchor: str
    prev: str
    text: str
    history: list[str]


@dataclass(frozen=True)
class SamplingParams:
    """How a sampler continues a prompt (the probe's loop in ``collector.probe.sampling``, or a
    backend of the model such as vLLM's)."""

    temperature: float
    top_p: float
    top_k: int | None
    max_new_tokens: int


@dataclass(frozen=True)
class Generation:
    """One row's result: decoded text (special tokens removed), token count and why it stopped."""

    text: str
    tokens: int
    finish_reason: str  # "eos" or "length"


class SessionStatus(str, Enum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class SessionRecord(BaseModel):
    """One row of raw.probe_sessions: one term, one model, one set of sampling parameters."""

    model_config = ConfigDict(frozen=True)

    session_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    term: str
    model_name: str
    model_revision: str
    device: str
    dtype: str
    backend: str = "transformers"
    prompt_template: str
    temperature: float
    top_p: float
    top_k: int | None
    max_rounds: int
    max_new_tokens: int
    seed: int
    batch_size: int
    runs_requested: int
    collector_version: str
    judge_version: str
    hostname: str
    pid: int
    judge_mode: str = "frame"  # 'reference': judged against glossary_id's reference meaning
    glossary_id: int | None = None
    encoder: str = "probe-model-hidden-states"
    stop_early: bool = True  # False: every run generates all max_rounds rounds
    stopping_rule: str = "fixed"  # 'until_ci': batches until the mean depth's 95% CI is narrow enough
    target_ci_half_width: float | None = None  # until_ci: the half-width to reach
    min_runs: int | None = None  # until_ci: runs before the rule may stop
    judge_settings: dict | None = None  # a judge with a server: its model as served, prompt version, decoding
    queued: bool = False  # collected through the work queue (nyx-collect submit), shard by shard, by workers


class RoundRecord(BaseModel):
    """One row of raw.probe_rounds: one generation step of one run, with every classifier feature."""

    model_config = ConfigDict(frozen=True)

    round: int  # 1-based
    prompt: str
    completion: str
    echo_type: EchoType
    tokens_generated: int
    finish_reason: str  # 'eos' or 'length'
    n_words: int
    distinct_ratio: float
    nonletter_ratio: float
    content_words: int
    new_stems: int
    novelty: float
    sim_term: float | None
    sim_prev: float | None
    sim_ref: float | None = None


class RunRecord(BaseModel):
    """One row of raw.variance_probe_runs, with its rounds."""

    model_config = ConfigDict(frozen=True)

    session_id: uuid.UUID
    term: str
    run_number: int  # 1-based
    seed: int
    depth: int
    rounds: list[RoundRecord]
    chain: list[str]  # the term, then each accepted completion: len == depth + 1
    model_name: str
    temperature: float
    max_rounds: int
    max_new_tokens: int
    finished_at: datetime | None = None

    @property
    def echo_types(self) -> list[str]:
        return [r.echo_type.value for r in self.rounds]
