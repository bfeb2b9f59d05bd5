"""Collecting: ``collect_terms`` (one new session per term) and ``collect_session`` (the runs of
one session, new or resumed), between the face and the rooms below it (probe, judge, db, iris).

Each entry point takes plain options, returns summaries and raises the collector's own errors
(``collector.core.errors``); none of them prints. Progress and status reach the caller through a
:class:`~collector.write.progress.Progress` it passes in (the CLI's draws a bar on stderr; the
default shows nothing).

One session: create (or reopen) its row, run the probe over the run numbers it still lacks, hand
finished runs to the run sink (:mod:`collector.write.sink`), which commits them and then tells the chain
index (:mod:`collector.iris.index`) and the progress display. Ctrl-C or SIGTERM writes what has
finished, marks the session interrupted and raises :class:`~collector.core.errors.Interrupted`; any
other failure marks it failed with the error's first line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from collector.core.errors import InputError, Interrupted
from collector.core.params import CollectParams, validate_term
from collector.core.records import RunRecord, SessionRecord, SessionStatus
from collector.db.connect import connect
from collector.judge.registry import DEFAULT_JUDGE
from collector.judge.select import check_judge_options
from collector.core.glossary import shipped_entries
from collector.write.journal_runs import load_leftover_journal
from collector.write.progress import PrecisionCallback, Progress, ProgressCallback, SessionSummary
from collector.write.session import judge_for_term, load_probe, new_session, open_iris, server_judge
from collector.write.sink import OUTAGE_LIMIT_S, RunSink

if TYPE_CHECKING:
    from collector.db.store import Store
    from collector.iris.chroma import Iris
    from collector.iris.index import ChainIndex
    from collector.judge.registry import SessionJudge
    from collector.judge.select import JudgeKit
    from collector.model.lm import LanguageModel
    from collector.probe.echo import Sampler

__all__ = ["collect_session", "collect_terms", "interrupted", "nothing_to_resume", "summarize"]


def nothing_to_resume(session_id: object) -> InputError:
    return InputError(f"session {session_id} is completed: nothing to resume")


def collect_session(
    store: Store,
    lm: LanguageModel,
    judge: SessionJudge,
    session: SessionRecord,
    on_progress: ProgressCallback | None = None,
    iris: Iris | None = None,
    resume: bool = False,
    outage_limit_s: float = OUTAGE_LIMIT_S,
    sampler: Sampler | None = None,
    on_note: Callable[[str], None] | None = None,
    on_precision: PrecisionCallback | None = None,
    overlap_judge: bool = False,
) -> SessionSummary:
    """Run all of ``session``'s runs and store them (and their chain embeddings in ``iris``, if
    given); return what the database holds afterwards. ``sampler`` replaces the transformers
    decode loop (the vLLM backend); ``session.backend`` must name it. ``on_note`` hears status
    lines (an outage begins, a journal is loaded). ``overlap_judge`` judges each round on a thread
    while the next one generates (:mod:`collector.probe.overlap`; the same rows; not with ``stop_early``,
    whose sessions run in turn).

    An ``until_ci`` session runs its run numbers in batches of ``batch_size``; before the first and
    after each batch (all of its runs committed) it reads the interval of the mean depth from the
    database (``Store.depth_precision``, told to ``on_precision``) and completes as soon as the rule
    is met, with runs_requested lowered to the runs stored (stopped_reason 'precision'), else after
    the last run number (stopped_reason 'max_runs').

    With ``resume``, the session already exists: the journal an earlier collector of it left
    behind (killed during an outage) is loaded first, then the session is marked running again and
    only its missing run numbers run, each from its own derived seed, so the completed session
    holds the same rows an uninterrupted one would have. A KeyboardInterrupt is re-raised after
    the session is marked.
    """
    from collector.probe.echo import Probe

    started = time.monotonic()
    numbers = _open_session(store, session, resume, on_note)
    index = _chain_index(iris, lm, session, resume)
    stored = session.runs_requested - len(numbers)

    def committed(runs: list[RunRecord]) -> None:
        nonlocal stored
        stored += len(runs)
        if index is not None:
            index.committed(runs)
        if on_progress:
            on_progress(stored, session.runs_requested)

    sink = RunSink(store, session, committed, outage_limit_s, on_note)
    probe = Probe(lm, judge, session, sampler, overlap_judge=overlap_judge)
    try:
        stop = _run_numbers(store, session, probe, sink, numbers, on_precision)
        store_spread(store, session, index)
    except KeyboardInterrupt:
        _close(store, session, sink, index, SessionStatus.INTERRUPTED, "interrupted by signal")
        raise
    except BaseException as exc:
        _close(store, session, sink, index, SessionStatus.FAILED, f"{type(exc).__name__}: {exc}")
        raise
    _complete(store, session, stop)
    return summarize(store, session, time.monotonic() - started)


def _open_session(store: Store, session: SessionRecord, resume: bool,
                  on_note: Callable[[str], None] | None) -> list[int]:
    """Create the session's row (or, with ``resume``, load its leftover journal and reopen it);
    return the run numbers it still lacks."""
    if not resume:
        store.create_session(session)
        return list(range(1, session.runs_requested + 1))
    load_leftover_journal(store, session, on_note)
    if not store.reopen_session(session.session_id, session.hostname, session.pid):
        raise nothing_to_resume(session.session_id)
    return store.missing_run_numbers(session.session_id, session.runs_requested)


def _chain_index(iris: Iris | None, lm: LanguageModel, session: SessionRecord, resume: bool) -> ChainIndex | None:
    if iris is None:
        return None
    from collector.iris.index import ChainIndex

    return ChainIndex(iris, lm, session, resumed=resume)


def _run_numbers(store: Store, session: SessionRecord, probe, sink: RunSink, numbers: list[int],
                 on_precision: PrecisionCallback | None) -> dict | None:
    """Run ``numbers`` under the session's stopping rule; the last precision row of an until_ci
    session, else None."""
    if session.stopping_rule == "until_ci":
        return _run_until_precise(store, session, probe, sink, numbers, on_precision)
    for finished in probe.run(numbers, session.batch_size):
        sink.add(finished)
    sink.drain()
    return None


def _complete(store: Store, session: SessionRecord, stop: dict | None) -> None:
    """Mark the session completed (an until_ci one with why it stopped)."""
    if stop is not None and stop["may_stop"] and stop["n"] < session.runs_requested:
        store.complete_on_precision(session.session_id, stop["n"])
    elif session.stopping_rule == "until_ci":
        reason = "precision" if stop is not None and stop["may_stop"] else "max_runs"
        store.finish_session(session.session_id, SessionStatus.COMPLETED, stopped_reason=reason)
    else:
        store.finish_session(session.session_id, SessionStatus.COMPLETED)


def _run_until_precise(store: Store, session: SessionRecord, probe, sink: RunSink, numbers: list[int],
                       on_precision: PrecisionCallback | None) -> dict:
    """Run ``numbers`` a batch at a time until the session's rule is met (the database says so,
    see Store.depth_precision) or none is left; return the last precision row. Each batch is
    drained (every run committed, none left in a journal) before the check, so the runs stored
    are exactly the runs finished."""
    pending = list(numbers)
    while True:
        row = store.depth_precision(session.session_id)
        if on_precision:
            on_precision(row)
        if row["may_stop"] or not pending:
            return row
        batch, pending = pending[:session.batch_size], pending[session.batch_size:]
        for finished in probe.run(batch, session.batch_size):
            sink.add(finished)
        sink.drain()


def store_spread(store: Store, session: SessionRecord, index: ChainIndex | None) -> None:
    """Write the session's semantic variance (raw.session_semantic_variance) if chains were embedded."""
    result = index.spread() if index is not None else None
    if result is None:
        return
    store.write_semantic_variance({
        "session_id": session.session_id, "model_name": session.model_name,
        "chains": result.chains, "dimensions": result.dimensions,
        "mean_centroid_distance": result.mean_centroid_distance,
        "mean_pairwise_cosine_distance": result.mean_pairwise_cosine_distance,
    })


def _close(store: Store, session: SessionRecord, sink: RunSink, index: ChainIndex | None, status: SessionStatus,
           error: str) -> None:
    """Keep every finished run and mark the session. A failure here must not hide the first one:
    with the database away, the runs stay in the journal and the session stays 'running' (stale)."""

    def mark() -> None:
        if not sink.pending:
            store_spread(store, session, index)
        store.finish_session(session.session_id, status, error=error.splitlines()[0][:500] if error else None)

    sink.keep(mark)


def summarize(store: Store, session: SessionRecord, elapsed_s: float) -> SessionSummary:
    row = store.get_session(session.session_id) or {}
    counts = store.depth_counts(session.session_id)
    return SessionSummary(
        session_id=str(session.session_id),
        term=session.term,
        status=row.get("status", "unknown"),
        runs_requested=row.get("runs_requested", session.runs_requested),
        runs_stored=sum(counts.values()),
        depth_counts={d: counts.get(d, 0) for d in range(4)},
        elapsed_s=elapsed_s,
        stopping_rule=row.get("stopping_rule", session.stopping_rule),
        stopped_reason=row.get("stopped_reason"),
    )


def interrupted(store: Store, session: SessionRecord, message: str) -> Interrupted:
    return Interrupted(message.format(kept=store.count_runs(session.session_id), session=session))


def collect_terms(
    terms: list[str],
    params: CollectParams,
    *,
    model: str | None = None,
    device: str = "auto",
    dtype: str = "auto",
    backend: str = "transformers",
    dsn: str | None = None,
    iris: str | None = None,
    use_iris: bool = True,
    outage_limit_s: float = OUTAGE_LIMIT_S,
    progress: Progress | None = None,
    judge_version: str = DEFAULT_JUDGE,
    stop_early: bool = False,
    judge_options: dict | None = None,
) -> Iterator[SessionSummary]:
    """Collect one session per term with the validated ``params``; yield each session's summary as it
    finishes. Bad options, a bad device, backend or judge and a missing model fail before the
    database is touched; so does a judge with a server (``judge_options``: its URL, model, ...) whose
    server is down, slow or answers no label, or whose model is the probed one. Every run generates
    all max_rounds rounds unless ``stop_early``. A term without a reference meaning in the glossary
    is judged against the frame, and a line says so. Ctrl-C raises Interrupted, naming the session
    and the runs it kept. A judge that fails during a session marks it failed (its committed runs
    stay; ``resume`` runs the rest).
    """
    progress = progress or Progress()
    terms = list(dict.fromkeys(validate_term(t) for t in terms))  # as the CLI gives them: a library caller too
    backend, kit = _check_collect_options(model, device, dtype, backend, outage_limit_s, judge_version, judge_options,
                                          progress)
    chains = open_iris(iris, use_iris)
    with connect(dsn, on_note=progress.note) as store:
        store.migrate()
        store.seed_glossary(shipped_entries())
        with progress.loading_model():
            lm, kit, sampler = load_probe(model, device, dtype, backend, judge_version, kit)
        progress.note(f"Model {lm.name} on {lm.device} ({lm.dtype}, {backend}); judge {kit.judge_version}")
        for term in terms:
            yield _collect_term(store, term, params, lm, kit, sampler, backend, chains, outage_limit_s, progress,
                                stop_early)


def _check_collect_options(model: str | None, device: str, dtype: str, backend: str, outage_limit_s: float,
                           judge_version: str, judge_options: dict | None,
                           progress: Progress) -> tuple[str, JudgeKit | None]:
    """Refuse bad options before the database is touched; return the backend and, for a judge with
    a server, its kit (its server checked)."""
    from collector.model.lm import resolve_device, resolve_dtype
    from collector.model.source import resolve_model
    from collector.model.vllm_backend import check_backend

    if not 0 <= outage_limit_s <= 86400:
        raise InputError(f"--outage-limit must be between 0 and 86400 seconds, got {outage_limit_s}")
    resolve_dtype(dtype, resolve_device(device))
    backend = check_backend(backend)
    options = check_judge_options(judge_version, judge_options)
    source = resolve_model(model)
    return backend, server_judge(judge_version, options, source.name, progress)


def _collect_term(store: Store, term: str, params: CollectParams, lm: LanguageModel, kit: JudgeKit,
                  sampler: Sampler | None, backend: str, chains: Iris | None, outage_limit_s: float,
                  progress: Progress, stop_early: bool) -> SessionSummary:
    """One new session of ``term``, collected; Interrupted (naming the runs kept) on Ctrl-C."""
    session_judge = judge_for_term(store, kit, term)
    if kit.uses_references and session_judge.mode == "frame":
        progress.note(f"{term}: no reference meaning in the glossary, so its rounds are judged against "
                      "the frame (weaker): add one with `nyx-collect glossary add`")
    session = new_session(term, params, lm, backend, session_judge, stop_early)
    with progress.session(term, session.runs_requested, 0) as advance:
        try:
            return collect_session(store, lm, session_judge, session, on_progress=advance, iris=chains,
                                   outage_limit_s=outage_limit_s, sampler=sampler,
                                   on_note=progress.note, on_precision=progress.precision)
        except KeyboardInterrupt:
            raise interrupted(store, session, "interrupted: session {session.session_id} "
                              "({session.term}) kept {kept} of {session.runs_requested} runs "
                              "and is marked interrupted") from None
