"""The pieces of one session before it runs: its row (new or reopened), the model and judge kit
it is collected with, the judge of each term or stored session, and the chain store (iris)."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

from collector import __version__
from collector.core.errors import InputError, SessionNotFound
from collector.core.params import CollectParams
from collector.core.records import SessionRecord
from collector.judge.classifier import CLASSIFIER_VERSION
from collector.judge.meaning import Meaning
from collector.judge import registry
from collector.judge.registry import DEFAULT_JUDGE
from collector.judge.select import JudgeKit, judge_settings
from collector.probe.seeds import new_session_seed

if TYPE_CHECKING:
    from collector.db.store import Store
    from collector.iris.chroma import Iris
    from collector.judge.registry import SessionJudge
    from collector.model.lm import LanguageModel
    from collector.probe.echo import Sampler
    from collector.write.progress import Progress

__all__ = ["check_same_judge", "judge_for_term", "judge_of_session", "load_probe", "new_session", "open_iris",
           "server_judge", "session_from_row"]


def new_session(term: str, params: CollectParams, lm: LanguageModel, backend: str = "transformers",
                judge: SessionJudge | None = None, stop_early: bool = False) -> SessionRecord:
    """The session row for ``term``, before anything is generated; ``judge`` names the judge's
    version, mode, encoder and reference meaning (default: rules-1, the first judge)."""
    batch_size = min(params.batch_size or lm.default_batch_size, params.runs)
    return SessionRecord(
        term=term,
        model_name=lm.name,
        model_revision=lm.revision,
        device=lm.device,
        dtype=lm.dtype,
        backend=backend,
        prompt_template=params.prompt_template,
        temperature=params.temperature,
        top_p=params.top_p,
        top_k=params.top_k,
        max_rounds=params.max_rounds,
        max_new_tokens=params.max_new_tokens,
        seed=params.seed if params.seed is not None else new_session_seed(),
        batch_size=batch_size,
        runs_requested=params.runs,
        **({"stopping_rule": "until_ci", "target_ci_half_width": params.until_ci, "min_runs": params.min_runs}
           if params.until_ci is not None else {}),
        collector_version=__version__,
        stop_early=stop_early,
        # without a judge, SessionRecord's defaults describe rules-1
        **({"judge_version": judge.judge_version, "judge_mode": judge.mode, "glossary_id": judge.glossary_id,
            "encoder": judge.encoder_name, "judge_settings": judge_settings(judge)}
           if judge else {"judge_version": CLASSIFIER_VERSION}),
        hostname=socket.gethostname(),
        pid=os.getpid(),
    )


def session_from_row(row: dict, lm: LanguageModel) -> SessionRecord:
    """The SessionRecord of a stored session, to resume it from this process with ``lm``."""
    fields = {name: row[name] for name in SessionRecord.model_fields if name in row}
    fields.update(hostname=socket.gethostname(), pid=os.getpid(), device=lm.device, dtype=lm.dtype)
    return SessionRecord(**fields)


def load_probe(model: str | None, device: str = "auto", dtype: str = "auto",
               backend: str = "transformers", judge_version: str = DEFAULT_JUDGE,
               kit: JudgeKit | None = None) -> tuple[LanguageModel, JudgeKit, Sampler | None]:
    """The model, the judge kit of ``judge_version`` (it builds each session's judge; ``kit``: one
    loaded already, a judge with a server, checked before the model loads), and the sampler of
    ``backend`` (None: the transformers decode loop)."""
    from collector.model.lm import LanguageModel

    lm = LanguageModel.load(model, device=device, dtype=dtype)
    kit = kit if kit is not None else JudgeKit(judge_version, lm)
    sampler = None
    if backend == "vllm":
        from collector.model.vllm_backend import VllmSampler

        sampler = VllmSampler(lm)
    return lm, kit, sampler


def judge_for_term(store: Store, kit: JudgeKit, term: str) -> SessionJudge:
    """The judge of a new session: against the term's newest reference meaning, else the frame."""
    row = store.reference_for(term) if kit.uses_references else None
    return kit.for_term(term, Meaning.from_row(row), row["id"]) if row else kit.for_term(term)


def judge_of_session(store: Store, kit: JudgeKit, row: dict) -> SessionJudge:
    """The judge a stored session was judged by: the same reference version, or the frame again."""
    glossary_id = row.get("glossary_id")
    if glossary_id is None or not kit.uses_references:
        return kit.for_term(row["term"])
    reference = store.glossary_row(glossary_id)
    if reference is None:
        raise SessionNotFound(f"glossary row {glossary_id}, which session {row['session_id']} was judged against, "
                              "is gone")
    return kit.for_term(row["term"], Meaning.from_row(reference), glossary_id)



def server_judge(version: str, options: dict, probed_model: str, progress: Progress) -> JudgeKit | None:
    """For a judge with a server: the kit, loaded now (its server checked: models, one judging
    request, not the probed model judging itself), before anything is written; else None."""
    if not registry.entry(version).has_endpoint:
        return None
    kit = JudgeKit(version, options={**options, "probed_model": probed_model})
    settings = kit.settings or {}
    progress.note(f"Judge {version}: model {settings.get('model')} at {settings.get('server')} "
                  f"(prompt {settings.get('prompt_version')})")
    return kit


def check_same_judge(row: dict, encoder: str) -> None:
    """InputError unless ``encoder`` (the judge's encoder or model) is the one the session recorded."""
    if encoder != row["encoder"]:
        raise InputError(f"session {row['session_id']} was judged with {row['encoder']!r}, this judge is "
                         f"{encoder!r}: resume it with the same judge model, so one session has one instrument")



def open_iris(server: str | None, use_iris: bool) -> Iris | None:
    if not use_iris:
        return None
    from collector.iris.chroma import Iris

    return Iris.open(server)

