"""Finishing what an earlier collector left: ``resume_session`` runs the missing runs of an
interrupted, failed or stale session; ``replay_journal`` stores the runs of a journal written
while the database was away."""

from __future__ import annotations

from pathlib import Path

from collector.core.errors import InputError, ModelError
from collector.db.connect import connect
from collector.db.journal import Journal
from collector.judge import registry
from collector.judge.select import JudgeKit, check_judge_options
from collector.write.collect import collect_session, interrupted, nothing_to_resume
from collector.write.journal_runs import checked_journal_runs
from collector.write.progress import Progress, ReplaySummary, SessionSummary
from collector.write.session import (check_same_judge, judge_of_session, load_probe, open_iris, server_judge,
                                     session_from_row)
from collector.write.sink import write_new_runs

__all__ = ["replay_journal", "resume_session"]


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
    from collector.model.lm import resolve_device, resolve_dtype
    from collector.model.source import DEFAULT_MODEL_NAME
    from collector.model.vllm_backend import check_backend

    progress = progress or Progress()
    if dtype is not None:
        resolve_dtype(dtype, resolve_device(device))
    chains = open_iris(iris, use_iris)
    with connect(dsn) as store:
        store.migrate()
        row = store.get_session(store.resolve_session(ref))
        _check_resumable(row, force)
        backend = check_backend(row.get("backend") or "transformers")
        spec = model or (None if row["model_name"] == DEFAULT_MODEL_NAME else row["model_name"])
        version = row["judge_version"]
        kit = _session_server_judge(row, judge_options, progress)
        with progress.loading_model():
            lm, kit, sampler = load_probe(spec, device, dtype or row["dtype"], backend, version, kit)
        _check_same_model(row, lm, progress)
        session = session_from_row(row, lm)
        judge = judge_of_session(store, kit, row)
        check_same_judge(row, judge.encoder_name)
        with progress.session(f"{session.term} (resume)", session.runs_requested, row["runs_stored"]) as advance:
            try:
                return collect_session(store, lm, judge, session, iris=chains, resume=True, sampler=sampler,
                                       on_progress=advance, on_note=progress.note,
                                       on_precision=progress.precision)
            except KeyboardInterrupt:
                raise interrupted(store, session, "interrupted: session {session.session_id} kept "
                                  "{kept} of {session.runs_requested} runs") from None


def _check_resumable(row: dict, force: bool) -> None:
    """InputError for a completed session, and for one whose collector may still run unless ``force``."""
    from collector.db.liveness import session_state

    state = session_state(row)
    if state == "completed":
        raise nothing_to_resume(row["session_id"])
    if state == "queued" and not force:
        raise InputError(f"session {row['session_id']} is queued: workers collect its shards (`nyx-collect queue "
                         f"{row['session_id']}`); `nyx-collect submit --session` queues failed shards again, "
                         "--force collects its missing runs here")
    if state in ("running", "running elsewhere") and not force:
        raise InputError(f"session {row['session_id']} is {state} (pid {row['pid']} on {row['hostname']}): "
                         "wait for it, or pass --force if that collector is gone")


def _session_server_judge(row: dict, judge_options: dict | None, progress: Progress) -> JudgeKit | None:
    """The kit of the session's judge if it has a server (checked now, and refused unless its model
    is the session's encoder); InputError for a judge this collector lacks."""
    version = row["judge_version"]
    if version not in registry.versions():
        raise InputError(f"session {row['session_id']} was judged by {version!r}, which this collector lacks "
                         f"(it has {', '.join(registry.versions())})")
    options = check_judge_options(version, judge_options)
    kit = server_judge(version, options, row["model_name"], progress)
    if kit is not None and kit.encoder_name is not None:
        check_same_judge(row, kit.encoder_name)
    return kit


def _check_same_model(row: dict, lm, progress: Progress) -> None:
    """ModelError unless ``lm`` has the session's revision; a note when its dtype differs."""
    if lm.dtype != row["dtype"]:
        progress.note(f"resuming in {lm.dtype}; the session was collected in {row['dtype']}, so its new runs "
                      "may differ from what an uninterrupted session would hold")
    if lm.revision != row["model_revision"]:
        raise ModelError(f"{lm.name} has revision {lm.revision}, the session was collected with "
                         f"{row['model_revision']}: pass --model with the original weights")


def replay_journal(path: Path, *, dsn: str | None = None) -> ReplaySummary:
    """Load the runs of a journal written during an outage; runs already stored are skipped, so
    replaying twice is harmless. SessionNotFound when the database lacks a session of the journal;
    InputError (nothing stored) for a file that is not a journal or a run its session cannot hold
    (see :func:`~collector.write.journal_runs.checked_journal_runs`)."""
    journal = Journal(path)
    for _line in journal.entries():  # a file that is not a journal is refused before connecting
        pass
    with connect(dsn) as store:
        store.migrate()
        runs = checked_journal_runs(store, journal)
        new = write_new_runs(store, runs)
    return ReplaySummary(replayed=len(new), already_stored=len(runs) - len(new))
