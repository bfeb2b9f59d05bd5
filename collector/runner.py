"""One collection session: create the session row, run the probe, stream finished runs to the store.

Finished runs are committed in one transaction per flush (COPY), at the latest every
FLUSH_SECONDS and whenever a batch's worth has finished, never held to the end. Ctrl-C or SIGTERM
writes what has finished, marks the session interrupted and re-raises; any other failure marks it
failed with the error's first line.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from collector import __version__
from collector.judge.classifier import CLASSIFIER_VERSION
from collector.errors import DatabaseError
from collector.interrupts import INTERRUPTS
from collector.db.journal import Journal

from collector.params import CollectParams, frame_term
from collector.probe.echo import Probe, Sampler
from collector.records import RunRecord, SessionRecord, SessionStatus
from collector.probe.seeds import new_session_seed

if TYPE_CHECKING:
    from collector.iris.chroma import Iris
    from collector.judge.judge import Judge
    from collector.probe.lm import LanguageModel
    from collector.db.store import Store

FLUSH_SECONDS = 2.0
OUTAGE_LIMIT_S = 300.0
"""How long the database may stay unreachable before the collector stops (runs are journaled)."""
MAX_BACKOFF_S = 30.0



#: Called after every flush with (runs stored so far, runs requested).
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class SessionSummary:
    session_id: str
    term: str
    status: str
    runs_requested: int
    runs_stored: int
    depth_counts: dict[int, int]
    elapsed_s: float

    def as_dict(self) -> dict:
        return {
            "session_id": self.session_id,
            "term": self.term,
            "status": self.status,
            "runs_requested": self.runs_requested,
            "runs_stored": self.runs_stored,
            "depth_counts": {str(k): v for k, v in sorted(self.depth_counts.items())},
            "elapsed_s": round(self.elapsed_s, 3),
        }


def new_session(term: str, params: CollectParams, lm: LanguageModel, backend: str = "transformers") -> SessionRecord:
    """The session row for ``term``, before anything is generated."""
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
        collector_version=__version__,
        classifier_version=CLASSIFIER_VERSION,
        hostname=socket.gethostname(),
        pid=os.getpid(),
    )


class _Writer:
    """Buffers finished runs and commits them in one transaction per flush.

    With iris, each flush also stores the runs' chain embeddings (after the runs are committed,
    so ChromaDB never holds a chain that PostgreSQL does not) and keeps the vectors for the
    session's semantic variance.
    """

    def __init__(self, store: Store, session: SessionRecord, on_progress: ProgressCallback | None,
                 lm: LanguageModel | None = None, iris: Iris | None = None,
                 outage_limit_s: float = OUTAGE_LIMIT_S):
        self.store = store
        self.session = session
        self.flush_runs = session.batch_size
        self.on_progress = on_progress
        self.total = session.runs_requested
        self.lm = lm
        self.iris = iris
        self.anchor = frame_term(session.prompt_template, session.term)
        self.journal = Journal.for_session(session.session_id)
        self.outage_limit_s = outage_limit_s
        self.outage_since: float | None = None
        self.backoff = 1.0
        self.next_retry = 0.0
        self.vectors: list = []
        self.complete_spread = False  # resumed: the spread needs the earlier runs' vectors from iris
        self.buffer: list[RunRecord] = []
        self.stored = 0
        self.last_flush = time.monotonic()

    def add(self, runs: list[RunRecord]) -> None:
        self.buffer.extend(runs)
        if len(self.buffer) >= self.flush_runs or time.monotonic() - self.last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        with INTERRUPTS.shielded():
            if self.buffer:
                pending, self.buffer = self.buffer, []
                if self.journal.pending or not self._write(pending):
                    self.journal.append(pending)  # on disk before anything else happens
                    self._recover(wait=False)
            self.last_flush = time.monotonic()

    def drain(self) -> None:
        """At the end of a session: flush, then wait (with backoff, up to the outage limit) until
        every journaled run is in the database."""
        self.flush()
        while self.journal.pending:
            self._recover(wait=True)

    def _write(self, runs: list[RunRecord]) -> bool:
        """Store ``runs`` (one transaction); False when the connection is lost, so they get journaled."""
        try:
            self.store.write_runs(runs)
        except DatabaseError:
            if not self.store.connection_lost:
                raise
            self.outage_since = self.outage_since or time.monotonic()
            return False
        self._stored(runs)
        return True

    def _stored(self, runs: list[RunRecord]) -> None:
        self.stored += len(runs)
        if self.iris is not None and self.lm is not None:
            from collector.iris.chains import embed_chains

            vectors = embed_chains(self.lm, [[self.anchor, *r.chain[1:]] for r in runs])
            self.iris.upsert_chains(self.lm.name, runs, vectors)
            self.vectors.append(vectors)
        if self.on_progress:
            self.on_progress(self.stored, self.total)

    def _recover(self, wait: bool) -> None:
        """Reconnect when the backoff allows and load the journal; give up past the outage limit."""
        now = time.monotonic()
        if now < self.next_retry:
            if not wait:
                return
            time.sleep(self.next_retry - now)
        try:
            self.store.reconnect()
            journaled = self.journal.read()
            done = self.store.stored_run_numbers(self.session.session_id)
            todo = [r for r in journaled if r.run_number not in done]
            if todo:
                self.store.write_runs(todo)
        except DatabaseError as exc:
            down = time.monotonic() - (self.outage_since or time.monotonic())
            if down > self.outage_limit_s:
                raise DatabaseError(
                    f"the database has been unreachable for {down:.0f} s; the finished runs are safe in "
                    f"{self.journal.path}: load them with `nyx-collect replay {self.journal.path}`, then "
                    f"`nyx-collect resume {self.session.session_id}` ({exc})"
                ) from exc
            self.backoff = min(self.backoff * 2, MAX_BACKOFF_S)
            self.next_retry = time.monotonic() + self.backoff
            return
        self.journal.clear()
        self.outage_since, self.backoff, self.next_retry = None, 1.0, 0.0
        self._stored(todo)

    def store_spread(self) -> None:
        """Write the session's semantic variance (raw.session_semantic_variance) if chains were embedded."""
        if self.iris is None:
            return
        import torch

        from collector.iris.chains import spread

        if self.complete_spread:
            ids = [f"{self.session.session_id}:{n}" for n in range(1, self.session.runs_requested + 1)]
            found = self.iris.get(self.session.model_name, ids)["embeddings"]
            vectors = torch.tensor(found, dtype=torch.float32) if len(found) else None
        else:
            vectors = torch.cat(self.vectors) if self.vectors else None
        if vectors is None or not len(vectors):
            return
        result = spread(vectors)
        self.store.write_semantic_variance({
            "session_id": self.session.session_id, "model_name": self.session.model_name,
            "chains": result.chains, "dimensions": result.dimensions,
            "mean_centroid_distance": result.mean_centroid_distance,
            "mean_pairwise_cosine_distance": result.mean_pairwise_cosine_distance,
        })


def collect_session(
    store: Store,
    lm: LanguageModel,
    judge: Judge,
    session: SessionRecord,
    on_progress: ProgressCallback | None = None,
    iris: Iris | None = None,
    resume: bool = False,
    outage_limit_s: float = OUTAGE_LIMIT_S,
    sampler: Sampler | None = None,
) -> SessionSummary:
    """Run all of ``session``'s runs and store them (and their chain embeddings in ``iris``, if
    given); return what the database holds afterwards. ``sampler`` replaces the transformers
    decode loop (the vLLM backend); ``session.backend`` must name it.

    With ``resume``, the session already exists: it is marked running again and only its missing
    run numbers run, each from its own derived seed, so the completed session holds the same rows
    an uninterrupted one would have.
    """
    started = time.monotonic()
    if resume:
        store.reopen_session(session.session_id, session.hostname, session.pid)
        numbers = store.missing_run_numbers(session.session_id, session.runs_requested)
    else:
        store.create_session(session)
        numbers = list(range(1, session.runs_requested + 1))
    writer = _Writer(store, session, on_progress, lm, iris, outage_limit_s)
    writer.stored = session.runs_requested - len(numbers)
    writer.complete_spread = resume
    probe = Probe(lm, judge, session, sampler)
    try:
        for finished in probe.run(numbers, session.batch_size):
            writer.add(finished)
        writer.drain()
        writer.store_spread()
    except KeyboardInterrupt:
        _close(store, session, writer, SessionStatus.INTERRUPTED, "interrupted by signal")
        raise
    except BaseException as exc:
        _close(store, session, writer, SessionStatus.FAILED, f"{type(exc).__name__}: {exc}")
        raise
    store.finish_session(session.session_id, SessionStatus.COMPLETED)
    return summarize(store, session, time.monotonic() - started)


def _close(store: Store, session: SessionRecord, writer: _Writer, status: SessionStatus, error: str) -> None:
    """Keep every finished run and mark the session. A failure here must not hide the first one:
    with the database away, the runs stay in the journal and the session stays 'running' (stale)."""
    with INTERRUPTS.shielded():
        try:
            writer.flush()
            if not writer.journal.pending:
                writer.store_spread()
            store.finish_session(session.session_id, status, error=error.splitlines()[0][:500] if error else None)
        except DatabaseError:
            if not store.connection_lost:
                raise


def session_from_row(row: dict, lm: LanguageModel) -> SessionRecord:
    """The SessionRecord of a stored session, to resume it from this process with ``lm``."""
    fields = {name: row[name] for name in SessionRecord.model_fields if name in row}
    fields.update(hostname=socket.gethostname(), pid=os.getpid(), device=lm.device, dtype=lm.dtype)
    return SessionRecord(**fields)


def summarize(store: Store, session: SessionRecord, elapsed_s: float) -> SessionSummary:
    row = store.get_session(session.session_id) or {}
    counts = store.depth_counts(session.session_id)
    return SessionSummary(
        session_id=str(session.session_id),
        term=session.term,
        status=row.get("status", "unknown"),
        runs_requested=session.runs_requested,
        runs_stored=sum(counts.values()),
        depth_counts={d: counts.get(d, 0) for d in range(4)},
        elapsed_s=elapsed_s,
    )
