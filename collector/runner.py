"""The workflow of a collection: what ``nyx-collect`` (and any other tool) calls to collect, resume,
replay and look up, between the face (CLI, reports) and the rooms below it (probe, judge, db, iris).

Each entry point takes plain options, returns summaries and raises the collector's own errors
(``collector.core.errors``); none of them prints. Progress and status reach the caller through a
:class:`Progress` it passes in (the CLI's draws a bar on stderr; the default shows nothing).

One session: create (or reopen) its row, run the probe over the run numbers it still lacks, hand
finished runs to the run sink (:mod:`collector.write.sink`), which commits them and then tells the chain
index (:mod:`collector.iris.index`) and the progress display. Ctrl-C or SIGTERM writes what has
finished, marks the session interrupted and raises :class:`~collector.core.errors.Interrupted`; any
other failure marks it failed with the error's first line.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from collector import __version__
from collector.db.connect import connect
from collector.db.journal import Journal
from collector.core.errors import (DatabaseError, InputError, Interrupted, MartsNotBuilt, ModelError, RefreshFailed,
                              SessionNotFound)
from collector.core.interrupts import INTERRUPTS
from collector.write.glossary import shipped_entries
from collector.judge.classifier import CLASSIFIER_VERSION
from collector.judge.meaning import Meaning
from collector.judge.select import DEFAULT_JUDGE, JUDGES, JudgeKit, check_judge, check_judge_options, judge_settings
from collector.core.params import CollectParams, check_limit, validate_term
from collector.probe.seeds import new_session_seed
from collector.core.records import RunRecord, SessionRecord, SessionStatus
from collector.write.sink import OUTAGE_LIMIT_S, RunSink, write_new_runs

if TYPE_CHECKING:
    from collector.db.refresh import RefreshResult
    from collector.db.store import Store
    from collector.iris.chroma import ChainHit, Iris
    from collector.iris.index import ChainIndex
    from collector.judge.select import SessionJudge
    from collector.probe.echo import Sampler
    from collector.model.lm import LanguageModel

__all__ = ["OUTAGE_LIMIT_S", "Progress", "ReplaySummary", "SessionReport", "SessionSummary", "TermAnalysis",
           "analyze_terms", "check_refresh_options", "collect_session", "collect_terms", "connect", "echo_transitions",
           "list_sessions", "load_probe", "new_session", "power_table", "refresh_marts", "replay_journal",
           "resume_session", "session_report", "similar_chains"]

#: Called after every commit with (runs stored so far, runs requested).
ProgressCallback = Callable[[int, int], None]
#: Called after every check of an --until-ci session with the row of Store.depth_precision.
PrecisionCallback = Callable[[dict], None]


class Progress:
    """What a caller sees of a collection. This one shows nothing; the CLI's draws on stderr."""

    def note(self, line: str) -> None:
        """A status line (which database, which model)."""

    def loading_model(self) -> AbstractContextManager[object]:
        """Around loading the model."""
        return nullcontext()

    def session(self, label: str, total: int, completed: int) -> AbstractContextManager[ProgressCallback]:
        """Around one session; the callback it yields hears (runs stored, runs requested)."""
        return nullcontext(lambda done, total: None)

    def precision(self, row: dict) -> None:
        """After each batch of an --until-ci session: the current interval (Store.depth_precision)."""


@dataclass(frozen=True)
class SessionSummary:
    session_id: str
    term: str
    status: str
    runs_requested: int
    runs_stored: int
    depth_counts: dict[int, int]
    elapsed_s: float
    stopping_rule: str = "fixed"
    stopped_reason: str | None = None  # until_ci: 'precision' or 'max_runs'

    def as_dict(self) -> dict:
        return {
            "session_id": self.session_id,
            "term": self.term,
            "status": self.status,
            "runs_requested": self.runs_requested,
            "runs_stored": self.runs_stored,
            "depth_counts": {str(k): v for k, v in sorted(self.depth_counts.items())},
            "elapsed_s": round(self.elapsed_s, 3),
            "stopping_rule": self.stopping_rule,
            "stopped_reason": self.stopped_reason,
        }


@dataclass(frozen=True)
class ReplaySummary:
    replayed: int
    already_stored: int


# --- the pieces of one session -------------------------------------------------------------------


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
        **({"judge_version": judge.version, "judge_mode": judge.mode, "glossary_id": judge.glossary_id,
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
               backend: str = "transformers", judge: str = DEFAULT_JUDGE,
               kit: JudgeKit | None = None) -> tuple[LanguageModel, JudgeKit, Sampler | None]:
    """The model, the judge kit of version ``judge`` (it builds each session's judge; ``kit``: one
    loaded already, a judge with a server, checked before the model loads), and the sampler of
    ``backend`` (None: the transformers decode loop)."""
    from collector.model.lm import LanguageModel

    lm = LanguageModel.load(model, device=device, dtype=dtype)
    kit = kit if kit is not None else JudgeKit(judge, lm)
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


def _nothing_to_resume(session_id: object) -> InputError:
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
) -> SessionSummary:
    """Run all of ``session``'s runs and store them (and their chain embeddings in ``iris``, if
    given); return what the database holds afterwards. ``sampler`` replaces the transformers
    decode loop (the vLLM backend); ``session.backend`` must name it. ``on_note`` hears status
    lines (an outage begins, a journal is loaded).

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
    if resume:
        _load_leftover_journal(store, session, on_note)
        if not store.reopen_session(session.session_id, session.hostname, session.pid):
            raise _nothing_to_resume(session.session_id)
        numbers = store.missing_run_numbers(session.session_id, session.runs_requested)
    else:
        store.create_session(session)
        numbers = list(range(1, session.runs_requested + 1))
    index = None
    if iris is not None:
        from collector.iris.index import ChainIndex

        index = ChainIndex(iris, lm, session, resumed=resume)
    stored = session.runs_requested - len(numbers)

    def committed(runs: list[RunRecord]) -> None:
        nonlocal stored
        stored += len(runs)
        if index is not None:
            index.committed(runs)
        if on_progress:
            on_progress(stored, session.runs_requested)

    sink = RunSink(store, session, committed, outage_limit_s, on_note)
    probe = Probe(lm, judge, session, sampler)
    stop: dict | None = None
    try:
        if session.stopping_rule == "until_ci":
            stop = _run_until_precise(store, session, probe, sink, numbers, on_precision)
        else:
            for finished in probe.run(numbers, session.batch_size):
                sink.add(finished)
            sink.drain()
        _store_spread(store, session, index)
    except KeyboardInterrupt:
        _close(store, session, sink, index, SessionStatus.INTERRUPTED, "interrupted by signal")
        raise
    except BaseException as exc:
        _close(store, session, sink, index, SessionStatus.FAILED, f"{type(exc).__name__}: {exc}")
        raise
    if stop is not None and stop["may_stop"] and stop["n"] < session.runs_requested:
        store.complete_on_precision(session.session_id, stop["n"])
    elif session.stopping_rule == "until_ci":
        reason = "precision" if stop is not None and stop["may_stop"] else "max_runs"
        store.finish_session(session.session_id, SessionStatus.COMPLETED, stopped_reason=reason)
    else:
        store.finish_session(session.session_id, SessionStatus.COMPLETED)
    return summarize(store, session, time.monotonic() - started)


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


def _load_leftover_journal(store: Store, session: SessionRecord, on_note: Callable[[str], None] | None) -> None:
    """Store the runs of the journal a killed collector of ``session`` left (runs stored already are
    skipped), then remove it, so that the missing run numbers are the ones really missing."""
    journal = Journal.for_session(session.session_id)
    if not journal.pending:
        return
    runs = _checked_journal_runs(store, journal)
    loaded = write_new_runs(store, runs)
    try:
        journal.clear()
    except OSError as exc:
        raise DatabaseError(f"loaded the journal {journal.path} but cannot remove it ({exc.strerror}): remove it "
                            f"by hand (its runs are stored), then resume again") from exc
    if on_note:
        on_note(f"loaded {len(loaded)} run(s) from the journal {journal.path} that an earlier collector of this "
                f"session left ({len(runs) - len(loaded)} were stored already)")


def _checked_journal_runs(store: Store, journal: Journal) -> list[RunRecord]:
    """Every run of ``journal`` (later lines win), each checked against its stored session: the
    session exists, the run's number is one it requested (1..runs_requested), its term is the
    session's, and it has its rounds 1..n within max_rounds. The first line that fails refuses the
    whole journal (InputError naming the file and line; SessionNotFound for an unknown session)."""
    sessions: dict[object, dict] = {}
    runs: dict[tuple[str, int], RunRecord] = {}
    for number, run in journal.entries():
        row = sessions.get(run.session_id)
        if row is None:
            row = store.get_session(run.session_id)
            if row is None:
                raise SessionNotFound(f"journal {journal.path} holds runs of session {run.session_id}, which this "
                                      "database lacks")
            sessions[run.session_id] = row
        problem = _journal_run_problem(run, row)
        if problem:
            raise InputError(f"{journal.path}, line {number}: {problem}; nothing of the journal was stored")
        runs[(str(run.session_id), run.run_number)] = run
    return list(runs.values())


def _journal_run_problem(run: RunRecord, session: dict) -> str | None:
    n, requested = run.run_number, session["runs_requested"]
    if not 1 <= n <= requested:
        return f"run number {n} is outside 1..{requested}, the runs session {run.session_id} requested"
    if run.term != session["term"]:
        return f"run {n} has the term {run.term[:60]!r}, its session {session['term'][:60]!r}"
    numbers = [r.round for r in run.rounds]
    if not numbers:
        return f"run {n} has no rounds"
    if numbers != list(range(1, len(numbers) + 1)) or len(numbers) > session["max_rounds"]:
        return f"run {n} has the rounds {numbers}, not 1..k with k at most {session['max_rounds']}"
    return None


def _store_spread(store: Store, session: SessionRecord, index: ChainIndex | None) -> None:
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
    with INTERRUPTS.shielded():
        try:
            sink.flush()
            if not sink.pending:
                _store_spread(store, session, index)
            store.finish_session(session.session_id, status, error=error.splitlines()[0][:500] if error else None)
        except DatabaseError:
            if not store.connection_lost:
                raise


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


def _open_iris(server: str | None, use_iris: bool) -> Iris | None:
    if not use_iris:
        return None
    from collector.iris.chroma import Iris

    return Iris.open(server)


def _interrupted(store: Store, session: SessionRecord, message: str) -> Interrupted:
    return Interrupted(message.format(kept=store.count_runs(session.session_id), session=session))


# --- the workflows -------------------------------------------------------------------------------


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
    judge: str = DEFAULT_JUDGE,
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
    from collector.model.lm import resolve_device, resolve_dtype
    from collector.model.source import resolve_model
    from collector.model.vllm_backend import check_backend

    progress = progress or Progress()
    terms = list(dict.fromkeys(validate_term(t) for t in terms))  # as the CLI gives them: a library caller too
    if not 0 <= outage_limit_s <= 86400:
        raise InputError(f"--outage-limit must be between 0 and 86400 seconds, got {outage_limit_s}")
    resolve_dtype(dtype, resolve_device(device))
    backend = check_backend(backend)
    options = check_judge_options(judge, judge_options)
    source = resolve_model(model)
    kit = _server_judge(judge, options, source.name, progress)
    chains = _open_iris(iris, use_iris)
    with connect(dsn, on_note=progress.note) as store:
        store.migrate()
        store.seed_glossary(shipped_entries())
        with progress.loading_model():
            lm, kit, sampler = load_probe(model, device, dtype, backend, judge, kit)
        progress.note(f"Model {lm.name} on {lm.device} ({lm.dtype}, {backend}); judge {kit.version}")
        for term in terms:
            session_judge = judge_for_term(store, kit, term)
            if kit.uses_references and session_judge.mode == "frame":
                progress.note(f"{term}: no reference meaning in the glossary, so its rounds are judged against "
                              "the frame (weaker): add one with `nyx-collect glossary add`")
            session = new_session(term, params, lm, backend, session_judge, stop_early)
            with progress.session(term, session.runs_requested, 0) as advance:
                try:
                    summary = collect_session(store, lm, session_judge, session, on_progress=advance, iris=chains,
                                              outage_limit_s=outage_limit_s, sampler=sampler,
                                              on_note=progress.note, on_precision=progress.precision)
                except KeyboardInterrupt:
                    raise _interrupted(store, session, "interrupted: session {session.session_id} "
                                       "({session.term}) kept {kept} of {session.runs_requested} runs "
                                       "and is marked interrupted") from None
            yield summary


def resume_session(
    ref: str,
    *,
    model: str | None = None,
    device: str = "auto",
    dtype: str | None = None,
    force: bool = False,
    dsn: str | None = None,
    iris: str | None = None,
    use_iris: bool = True,
    progress: Progress | None = None,
    judge_options: dict | None = None,
) -> SessionSummary:
    """Run exactly the missing runs of an interrupted, failed or stale session (id, unique prefix or
    ``latest``) with the model it was collected with, in its dtype unless ``dtype`` says otherwise
    (another dtype generates other text); refuse a completed one, and one whose collector may still
    run unless ``force``. The session's judge must be the one it was judged by: a judge with a server
    (``judge_options``) is checked before anything is written, and refused if its model (the
    session's ``encoder``) is another."""
    from collector.db.liveness import session_state
    from collector.model.lm import resolve_device, resolve_dtype
    from collector.model.source import DEFAULT_MODEL_NAME
    from collector.model.vllm_backend import check_backend

    progress = progress or Progress()
    if dtype is not None:
        resolve_dtype(dtype, resolve_device(device))
    chains = _open_iris(iris, use_iris)
    with connect(dsn) as store:
        store.migrate()
        row = store.get_session(store.resolve_session(ref))
        state = session_state(row)
        if state == "completed":
            raise _nothing_to_resume(row["session_id"])
        if state in ("running", "running elsewhere") and not force:
            raise InputError(f"session {row['session_id']} is {state} (pid {row['pid']} on {row['hostname']}): "
                             "wait for it, or pass --force if that collector is gone")
        backend = check_backend(row.get("backend") or "transformers")
        spec = model or (None if row["model_name"] == DEFAULT_MODEL_NAME else row["model_name"])
        version = row["judge_version"]
        if version not in JUDGES:
            raise InputError(f"session {row['session_id']} was judged by {version!r}, which this collector lacks "
                             f"(it has {', '.join(JUDGES)})")
        options = check_judge_options(version, judge_options)
        kit = _server_judge(version, options, row["model_name"], progress)
        if kit is not None and kit.encoder_name is not None:
            _check_same_judge(row, kit.encoder_name)
        with progress.loading_model():
            lm, kit, sampler = load_probe(spec, device, dtype or row["dtype"], backend, version, kit)
        if lm.dtype != row["dtype"]:
            progress.note(f"resuming in {lm.dtype}; the session was collected in {row['dtype']}, so its new runs "
                          "may differ from what an uninterrupted session would hold")
        if lm.revision != row["model_revision"]:
            raise ModelError(f"{lm.name} has revision {lm.revision}, the session was collected with "
                             f"{row['model_revision']}: pass --model with the original weights")
        session = session_from_row(row, lm)
        judge = judge_of_session(store, kit, row)
        _check_same_judge(row, judge.encoder_name)
        with progress.session(f"{session.term} (resume)", session.runs_requested, row["runs_stored"]) as advance:
            try:
                return collect_session(store, lm, judge, session, iris=chains, resume=True, sampler=sampler,
                                       on_progress=advance, on_note=progress.note,
                                       on_precision=progress.precision)
            except KeyboardInterrupt:
                raise _interrupted(store, session, "interrupted: session {session.session_id} kept "
                                   "{kept} of {session.runs_requested} runs") from None


def _server_judge(version: str, options: dict, probed_model: str, progress: Progress) -> JudgeKit | None:
    """For a judge with a server: the kit, loaded now (its server checked: models, one judging
    request, not the probed model judging itself), before anything is written; else None."""
    if not JudgeKit.version_has_endpoint(version):
        return None
    kit = JudgeKit(version, options={**options, "probed_model": probed_model})
    settings = kit.settings or {}
    progress.note(f"Judge {version}: model {settings.get('model')} at {settings.get('server')} "
                  f"(prompt {settings.get('prompt_version')})")
    return kit


def _check_same_judge(row: dict, encoder: str) -> None:
    """InputError unless ``encoder`` (the judge's encoder or model) is the one the session recorded."""
    if encoder != row["encoder"]:
        raise InputError(f"session {row['session_id']} was judged with {row['encoder']!r}, this judge is "
                         f"{encoder!r}: resume it with the same judge model, so one session has one instrument")


def replay_journal(path: Path, *, dsn: str | None = None) -> ReplaySummary:
    """Load the runs of a journal written during an outage; runs already stored are skipped, so
    replaying twice is harmless. SessionNotFound when the database lacks a session of the journal;
    InputError (nothing stored) for a file that is not a journal or a run its session cannot hold
    (see :func:`_checked_journal_runs`)."""
    journal = Journal(path)
    for _line in journal.entries():  # a file that is not a journal is refused before connecting
        pass
    with connect(dsn) as store:
        store.migrate()
        runs = _checked_journal_runs(store, journal)
        new = write_new_runs(store, runs)
    return ReplaySummary(replayed=len(new), already_stored=len(runs) - len(new))


def similar_chains(text: str, *, k: int = 10, term: str | None = None, model: str | None = None,
                   iris: str | None = None) -> list[ChainHit]:
    """The ``k`` stored chains nearest to ``text`` in ``model``'s embedding space (iris)."""
    from collector.iris.chains import embed_chains
    from collector.model.lm import LanguageModel

    if not text.strip():
        raise InputError("the text to look up is blank")
    if not 1 <= k <= 1000:
        raise InputError(f"-k must be between 1 and 1000, got {k}")
    term = validate_term(term) if term is not None else None
    chains = _open_iris(iris, True)
    lm = LanguageModel.load(model)
    return chains.similar(lm.name, embed_chains(lm, [[text]])[0], k=k, term=term)


def check_refresh_options(every: float | None, times: int | None) -> None:
    """InputError unless ``every`` is 0..86400 seconds and ``times`` 1..MAX_LIMIT (checked before
    anything connects)."""
    if every is not None and not 0 <= every <= 86400:
        raise InputError(f"--every must be between 0 and 86400 seconds, got {every}")
    if times is not None:
        check_limit("--times", times)


def refresh_marts(*, every: float | None = None, times: int | None = None, full_refresh: bool = False,
                  project_dir: Path | None = None) -> Iterator[RefreshResult]:
    """Refresh the dbt models and data tests once, or every ``every`` seconds (``times`` at most);
    yield each result. dbt reads the server from the PG* variables of the process environment.
    A failed refresh raises RefreshFailed when it runs once; on a timer the next one follows."""
    from collector.db.refresh import Refresher, find_project

    check_refresh_options(every, times)
    limit = times if times is not None else (None if every is not None else 1)
    refresher = Refresher(find_project(project_dir))
    done = 0
    try:
        while True:
            result = refresher.run(full_refresh=full_refresh and done == 0)
            done += 1
            yield result
            if not result.ok and every is None:
                raise RefreshFailed(f"{len(result.failed)} node(s) failed: {', '.join(result.failed[:5])}")
            if limit is not None and done >= limit:
                break
            time.sleep(every or 0)
    except KeyboardInterrupt:
        raise Interrupted(f"stopped after {done} refresh(es)") from None


# --- reading what was collected ------------------------------------------------------------------


def list_sessions(*, limit: int = 20, dsn: str | None = None) -> list[dict]:
    """The newest sessions, each row with its ``state`` (a running one whose collector is gone: 'stale')."""
    from collector.db.liveness import session_state

    check_limit("--limit", limit)
    with connect(dsn) as store:
        store.migrate()
        rows = store.list_sessions(limit=limit)
    return [{**row, "state": session_state(row)} for row in rows]


@dataclass(frozen=True)
class SessionReport:
    stats: dict
    patterns: list[dict]
    judgements: list[dict]  # marts.session_judgements: the original judgement and every later one


def session_report(ref: str, *, dsn: str | None = None) -> SessionReport:
    """A session's row of marts.session_stats and its term's most frequent echo-type sequences."""
    with connect(dsn) as store:
        row = store.session_stats(store.resolve_session(ref))
        return SessionReport(row, store.top_patterns(row["pool_key"]),
                             store.session_judgements_mart(row["session_id"]))


def power_table(terms: list[str], *, differences: list[float] | None = None, model: str | None = None,
                dsn: str | None = None) -> list[dict]:
    """Rows of marts.term_power for ``terms`` (all its differences, or only ``differences``).
    InputError for a difference that is not positive and finite or that the mart was not built for;
    MartsNotBuilt for a term it lacks."""
    terms = list(dict.fromkeys(validate_term(t) for t in terms))
    for difference in differences or []:
        if not 0 < difference <= 3:  # also refuses NaN
            raise InputError(f"--difference must be above 0 and at most 3, got {difference}")
    with connect(dsn) as store:
        if differences:
            built = store.power_differences()
            missing = [d for d in differences if d not in built]
            if missing:
                raise InputError(f"marts.term_power holds the differences {', '.join(f'{d:g}' for d in built)}, "
                                 f"not {', '.join(f'{d:g}' for d in missing)}: add them to the dbt var "
                                 "power_differences (dbt_project.yml) and run `dbt build`")
        rows = store.term_power(terms, model, list(dict.fromkeys(differences)) if differences else None)
    _require_terms(terms, rows, model, "marts.term_power")
    return rows


# The parts of a session's settings key (dbt var settings_parts, plus the reference meaning's
# version): what `analyze TERM --by PART` may compare. tests/unit/test_settings_parts.py keeps the
# two lists equal.
SETTINGS_PARTS = ("model_name", "model_revision", "backend", "prompt_template", "temperature", "top_p", "top_k",
                  "max_rounds", "max_new_tokens", "stop_early", "judge_version", "judge_mode", "encoder")
BY_ALIASES = {"model": "model_name", "revision": "model_revision", "prompt": "prompt_template",
              "judge": "judge_version", "reference": "reference_version"}


def settings_part(name: str) -> str:
    """The settings part ``--by`` names (``top-p`` and ``top_p`` alike, a few short aliases)."""
    part = name.strip().lower().replace("-", "_")
    part = BY_ALIASES.get(part, part)
    if part not in (*SETTINGS_PARTS, "reference_version"):
        raise InputError(f"--by takes one of {', '.join((*SETTINGS_PARTS, 'reference_version'))}, got {name!r}")
    return part


@dataclass(frozen=True)
class TermAnalysis:
    distributions: list[dict]  # marts.term_depth_distribution: one row per pool (term, settings key)
    comparisons: list[dict]  # marts.term_comparison: pairs of terms under one settings key
    sessions: list[dict]  # marts.session_comparison: every session against its pool's baseline
    agreement: list[dict]  # marts.judge_agreement: the judge against each labeller, where labels exist
    by: str | None = None  # --by: the settings part compared within each term
    settings_pairs: list[dict] = field(default_factory=list)  # marts.settings_comparison, differing in `by` alone
    unpaired: list[tuple[str, str]] = field(default_factory=list)  # terms with no settings key in common


def analyze_terms(terms: list[str], *, model: str | None = None, by: str | None = None,
                  dsn: str | None = None) -> TermAnalysis:
    """The marts' depth distributions and comparisons of ``terms``; with ``by``, each term's pools
    that differ in that settings part alone. MartsNotBuilt for a term the marts lack."""
    terms = list(dict.fromkeys(validate_term(t) for t in terms))
    part = settings_part(by) if by is not None else None
    with connect(dsn) as store:
        distributions = store.term_distributions(terms, model)
        settings_pairs = [row for t in terms for row in store.settings_comparisons(t, part, model)] if part else []
        found = TermAnalysis(distributions, store.term_comparisons(terms, model),
                             store.session_comparisons(terms, model), store.judge_agreement(terms, model),
                             part, settings_pairs, _unpaired(terms, distributions))
    _require_terms(terms, found.distributions, model, "the marts")
    return found


def _require_terms(terms: list[str], rows: list[dict], model: str | None, where: str) -> None:
    """MartsNotBuilt naming the terms that have no row in ``rows`` (read from ``where``)."""
    missing = [t for t in terms if t not in {r["term"] for r in rows}]
    if missing:
        raise MartsNotBuilt(
            f"no data in {where} for {', '.join(repr(t) for t in missing)}"
            + (f" with model {model!r}" if model else "")
            + ": collect it with nyx-collect, then run `dbt build`"
        )


def _unpaired(terms: list[str], distributions: list[dict]) -> list[tuple[str, str]]:
    """Pairs of the terms asked for that share no settings key: the marts never compare them."""
    keys = {t: {r["settings_key"] for r in distributions if r["term"] == t} for t in terms}
    return [(a, b) for i, a in enumerate(terms) for b in terms[i + 1:]
            if keys[a] and keys[b] and not keys[a] & keys[b]]


def echo_transitions(terms: list[str], *, model: str | None = None, dsn: str | None = None) -> list[dict]:
    """The rows of marts.echo_type_transitions of ``terms`` (the heat maps of ``--png``)."""
    terms = list(dict.fromkeys(validate_term(t) for t in terms))
    with connect(dsn) as store:
        return store.echo_type_transitions(terms, model)
