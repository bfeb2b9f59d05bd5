"""``nyx-collect submit``: one queued session per term, its run numbers cut into shards, one job
per shard, written together (the session row and its jobs in one transaction). Nothing is
generated here: the workers collect, and only the model's name and revision are read (its weights
load only for a judge that needs the probe model's hidden states)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from collector.core.errors import InputError
from collector.core.params import CollectParams, validate_term
from collector.db.connect import connect
from collector.judge import registry
from collector.judge.registry import DEFAULT_JUDGE
from collector.queue.app import COLLECT_QUEUE, COLLECT_TASK
from collector.write.progress import Progress
from collector.write.shard import shard_ranges

__all__ = ["ModelInfo", "SubmitSummary", "resubmit_session", "submit_terms"]


@dataclass(frozen=True)
class ModelInfo:
    """What a session row records of its model, without the weights."""

    name: str
    revision: str
    device: str
    dtype: str
    default_batch_size: int


@dataclass(frozen=True)
class SubmitSummary:
    session_id: str
    term: str
    runs: int
    shards: int
    queue: str


def submit_terms(terms: list[str], params: CollectParams, shard_size: int, *, model: str | None = None,
                 device: str = "auto", dtype: str = "auto", backend: str = "transformers", dsn: str | None = None,
                 judge_version: str = DEFAULT_JUDGE, stop_early: bool = False, queue: str = COLLECT_QUEUE,
                 progress: Progress | None = None) -> list[SubmitSummary]:
    """Create one queued session per term (settings and seed recorded as ``nyx-collect TERM`` would)
    and defer its shards; return at once. Bad options fail before the database is touched."""
    progress = progress or Progress()
    terms = list(dict.fromkeys(validate_term(t) for t in terms))
    shards, backend = _check_submit(params, shard_size, backend, judge_version, queue)
    info = _model_info(model, device, dtype)
    with connect(dsn, on_note=progress.note) as store:
        store.migrate()
        from collector.core.glossary import shipped_entries
        from collector.judge.select import JudgeKit
        from collector.write.session import judge_for_term, new_session

        store.seed_glossary(shipped_entries())
        kit = JudgeKit(judge_version, _probe_model(model, device, dtype, judge_version))
        summaries = []
        for term in terms:
            session = new_session(term, params, info, backend, judge_for_term(store, kit, term), stop_early)
            session = session.model_copy(update={"queued": True})
            store.submit_session(session, shards, queue, COLLECT_TASK)
            summaries.append(SubmitSummary(str(session.session_id), term, params.runs, len(shards), queue))
        return summaries


def resubmit_session(ref: str, shard_size: int, *, dsn: str | None = None,
                     queue: str = COLLECT_QUEUE) -> SubmitSummary:
    """Queue again the shards (of ``shard_size``) of a queued session that still lack runs (after
    its jobs failed, say); a failed or interrupted session runs again. A shard already waiting is
    refused by the queueing lock, and then nothing is queued."""
    _check_queue(queue)
    with connect(dsn) as store:
        store.migrate()
        row = store.get_session(store.resolve_session(ref))
        if not row.get("queued"):
            raise InputError(f"session {row['session_id']} was not submitted to the queue: "
                             f"use `nyx-collect resume {row['session_id']}`")
        if row["status"] == "completed":
            raise InputError(f"session {row['session_id']} is completed: nothing to queue")
        missing = set(store.missing_run_numbers(row["session_id"], row["runs_requested"]))
        shards = [(a, b) for a, b in shard_ranges(row["runs_requested"], shard_size)
                  if any(a <= n <= b for n in missing)]
        with store.conn.transaction():
            if row["status"] != "running":
                store.reopen_session(row["session_id"], socket.gethostname(), os.getpid())
            store.defer_shards(row["session_id"], shards, queue, COLLECT_TASK)
    return SubmitSummary(str(row["session_id"]), row["term"], row["runs_requested"], len(shards), queue)


def _check_submit(params: CollectParams, shard_size: int, backend: str, judge_version: str,
                  queue: str) -> tuple[list[tuple[int, int]], str]:
    from collector.judge.select import check_judge_options
    from collector.model.vllm_backend import check_backend

    if params.until_ci is not None:
        raise InputError("--until-ci stops on what the runs stored so far say, one batch after another: "
                         "collect it with one collector (nyx-collect TERM --until-ci ...), not through the queue")
    backend = check_backend(backend)
    check_judge_options(judge_version, None)
    if registry.entry(judge_version).has_endpoint:
        local = ", ".join(e.judge_version for e in registry.entries() if not e.has_endpoint)
        raise InputError(f"--judge {judge_version} talks to a server the workers would each need; "
                         f"the queue runs the judges without one ({local})")
    _check_queue(queue)
    return shard_ranges(params.runs, shard_size), backend


def _check_queue(queue: str) -> None:
    if not queue or len(queue) > 128 or not queue.replace("-", "").replace("_", "").isalnum() or not queue.isascii():
        raise InputError(f"--queue must be 1 to 128 ASCII letters, digits, '-' or '_', got {queue[:40]!r}")


def _model_info(model: str | None, device: str, dtype: str) -> ModelInfo:
    """The model's name and revision (its files, not its weights) and the dtype the workers use."""
    from collector.model.lm import DEFAULT_BATCH_SIZES, resolve_device, resolve_dtype
    from collector.model.source import resolve_model

    resolved = resolve_device(device)
    source = resolve_model(model)
    return ModelInfo(source.name, source.revision, resolved, resolve_dtype(dtype, resolved),
                     DEFAULT_BATCH_SIZES.get(resolved.split(":")[0], 64))


def _probe_model(model: str | None, device: str, dtype: str, judge_version: str):
    """The probe model, loaded, for a judge that reads its hidden states (rules-1); else None."""
    if not registry.entry(judge_version).needs_probe_model:
        return None
    from collector.model.lm import LanguageModel

    return LanguageModel.load(model, device=device, dtype=dtype)
