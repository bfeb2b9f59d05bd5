"""What the queue's jobs do in a worker process: collect a shard with the model and judge kept
loaded between jobs (:class:`ShardRunner`), retry the jobs of dead workers, refresh the marts."""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from collector.core.errors import DatabaseError, SessionNotFound
from collector.core.records import SessionStatus
from collector.write.shard import ShardStopped, collect_shard
from collector.write.sink import OUTAGE_LIMIT_S

if TYPE_CHECKING:
    from procrastinate import App

    from collector.db.store import Store
    from collector.iris.chroma import Iris

log = logging.getLogger(__name__)

__all__ = ["ShardRunner", "WorkerOptions", "refresh_marts_once", "retry_stalled_jobs"]


@dataclass(frozen=True)
class WorkerOptions:
    device: str = "auto"
    batch_size: int | None = None  # None: each session's own
    overlap_judge: bool | None = None  # None: on a GPU (the CPU judges beside it), not on a CPU (the same cores)
    outage_limit_s: float = OUTAGE_LIMIT_S


class ShardRunner:
    """Runs shard jobs in one worker process: one database connection, one model (and judge kit)
    kept while jobs for it keep coming, replaced when a job needs another, and a stop flag that a
    signal sets (the shard in hand stops after its current batch)."""

    def __init__(self, store: Store, options: WorkerOptions, iris: Iris | None = None,
                 on_note: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.options = options
        self.iris = iris
        self.on_note = on_note or (lambda line: None)
        self.stopping = threading.Event()
        self._key: tuple | None = None
        self._probe: tuple | None = None  # (lm, kit, sampler)
        self._recorded: set[int] = set()
        self.loads = 0
        self.jobs = 0

    def run(self, context: Any, session_id: str, first: int, last: int) -> dict:
        started = time.monotonic()
        self.jobs += 1
        row = self._session_row(session_id)
        if row is None:
            raise SessionNotFound(f"session {session_id} of shard {first}-{last} is not in the database")
        if row["status"] == "completed":
            return {"collected": 0, "session_completed": True}
        self._record_worker(getattr(context.job, "worker_id", None))
        try:
            summary = self._collect(row, first, last)
        except ShardStopped:
            raise
        except Exception as exc:
            self._fail_session_if_final(context, row, exc)
            raise
        self.on_note(f"shard {first}-{last} of session {session_id} ({row['term']!r}): {summary.collected} run(s) "
                     f"in {time.monotonic() - started:.1f} s"
                     + ("; session completed" if summary.session_completed else ""))
        return {"collected": summary.collected, "already_stored": summary.already_stored,
                "session_completed": summary.session_completed}

    def _session_row(self, session_id: str) -> dict | None:
        """The session's row; a connection the database dropped since the last job (an outage,
        a restart) is replaced first, waiting for the server up to the outage limit."""
        try:
            self._connected()
            return self.store.get_session(session_id)
        except DatabaseError:
            if not self.store.connection_lost:
                raise
            self._connected()
            return self.store.get_session(session_id)

    def _connected(self) -> None:
        if not self.store.connection_lost:
            return
        deadline, wait = time.monotonic() + self.options.outage_limit_s, 1.0
        while True:
            try:
                self.store.reconnect()
                return
            except DatabaseError:
                if time.monotonic() + wait > deadline:
                    raise
            if self.stopping.wait(wait):
                raise ShardStopped("stopped while waiting for the database")
            wait = min(wait * 2, 30.0)

    def _collect(self, row: dict, first: int, last: int):
        from collector.write.session import check_same_judge, judge_of_session, session_from_row

        lm, kit, sampler = self._probe_for(row)
        session = session_from_row(row, lm)
        judge = judge_of_session(self.store, kit, row)
        check_same_judge(row, judge.encoder_name)
        return collect_shard(self.store, lm, judge, session, first, last, batch_size=self.options.batch_size,
                             sampler=sampler, iris=self.iris, stopping=self.stopping.is_set,
                             overlap_judge=self._overlap(lm) and not session.stop_early,
                             outage_limit_s=self.options.outage_limit_s, on_note=self.on_note)

    def _overlap(self, lm) -> bool:
        if self.options.overlap_judge is not None:
            return self.options.overlap_judge
        return not str(lm.device).startswith("cpu")

    def _probe_for(self, row: dict) -> tuple:
        """The model, judge kit and sampler of the session's settings: the ones loaded for the last
        job when they match (model, revision, dtype, backend, judge), else loaded now."""
        from collector.core.errors import ModelError
        from collector.model.source import DEFAULT_MODEL_NAME
        from collector.write.session import load_probe

        key = (row["model_name"], row["model_revision"], row["dtype"], row["backend"], row["judge_version"])
        if key != self._key:
            self._probe, self._key = None, None  # the old model goes before the new one loads
            spec = None if row["model_name"] == DEFAULT_MODEL_NAME else row["model_name"]
            self.on_note(f"loading {row['model_name']} ({row['dtype']}) on {self.options.device}")
            lm, kit, sampler = load_probe(spec, self.options.device, row["dtype"], row["backend"], row["judge_version"])
            if lm.revision != row["model_revision"]:
                raise ModelError(f"{lm.name} here has revision {lm.revision}, the session was submitted with "
                                 f"{row['model_revision']}: give this worker the same weights")
            self._probe, self._key = (lm, kit, sampler), key
            self.loads += 1
        return self._probe

    def _record_worker(self, worker_id: int | None) -> None:
        if worker_id is None or worker_id in self._recorded:
            return
        device = self._probe[0].device if self._probe else self.options.device
        self.store.record_worker(worker_id, socket.gethostname(), os.getpid(), str(device))
        self._recorded.add(worker_id)

    def _fail_session_if_final(self, context: Any, row: dict, exc: Exception) -> None:
        """Mark the session failed when this attempt was the shard's last (or cannot be mended)."""
        from collector.queue.app import MAX_ATTEMPTS, PERMANENT

        if not isinstance(exc, PERMANENT) and context.job.attempts + 1 < MAX_ATTEMPTS:
            return
        try:
            self.store.finish_session(row["session_id"], SessionStatus.FAILED,
                                      error=f"{type(exc).__name__}: {exc}".splitlines()[0][:500])
        except DatabaseError:
            log.warning("could not mark session %s failed", row["session_id"])


async def retry_stalled_jobs(app: App, stalled_after_s: float) -> int:
    """procrastinate's recipe: every job running on a worker whose heartbeat is older than
    ``stalled_after_s`` goes back to the queue; the number of jobs retried."""
    stalled = list(await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after_s))
    for job in stalled:
        log.warning("retrying stalled job %s (%s)", job.id, job.call_string)
        await app.job_manager.retry_job(job)
    return len(stalled)


@functools.cache
def _refresher():
    """One dbt per worker process, loaded at its first refresh and kept."""
    from collector.db.refresh import Refresher, find_project

    return Refresher(find_project())


def refresh_marts_once() -> dict:
    """One routine refresh of the marts (dbt kept loaded in this process between refreshes)."""
    from collector.core.errors import RefreshFailed

    result = _refresher().run()
    if not result.ok:
        raise RefreshFailed(f"{len(result.failed)} node(s) failed: {', '.join(result.failed[:5])}")
    return {"elapsed_s": round(result.elapsed_s, 1), "counts": result.counts}
