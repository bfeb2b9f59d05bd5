"""The work queue's side of the database: a queued session with its shard jobs (procrastinate's
tables, migration 0017, written through procrastinate's own SQL functions), and which machine a
worker is (raw.queue_workers)."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import errors as pg_errors

from collector.core.errors import InputError
from collector.core.records import SessionRecord
from collector.db.store.connection import Connection, _jsonb
from collector.db.store.files import _q

__all__ = ["Queue", "shard_lock"]

QUEUEING_LOCK_INDEX = "procrastinate_jobs_queueing_lock_idx_v1"


def shard_lock(session_id: object, first: int, last: int) -> str:
    """The lock and queueing lock of a shard's job: one waiting and one running job per shard."""
    return f"shard:{session_id}:{int(first)}-{int(last)}"


class Queue(Connection):
    """Queued sessions, their shard jobs, and the workers' machines."""

    def submit_session(self, session: SessionRecord, shards: list[tuple[int, int]], queue: str, task: str) -> list[int]:
        """Create the session row (queued) and one job per shard, in one transaction; the job ids."""
        with self._errors(f"cannot submit session {session.session_id}"), self.conn.transaction():
            self.create_session(session)  # type: ignore[attr-defined]  (Sessions, combined in Store)
            return self._defer(session.session_id, shards, queue, task)

    def defer_shards(self, session_id: uuid.UUID, shards: list[tuple[int, int]], queue: str, task: str) -> list[int]:
        """One job per shard of a stored session (again); InputError when one of them is waiting
        already (procrastinate's queueing lock), and then none is deferred."""
        with self._errors(f"cannot queue the shards of session {session_id}"), self.conn.transaction():
            return self._defer(session_id, shards, queue, task)

    def _defer(self, session_id: object, shards: list[tuple[int, int]], queue: str, task: str) -> list[int]:
        jobs = [{"lock": shard_lock(session_id, first, last),
                 "args": {"session_id": str(session_id), "first": first, "last": last}} for first, last in shards]
        try:
            with self.conn.cursor() as cur:
                cur.execute(_q("defer_shard_jobs"), {"queue": queue, "task": task, "jobs": _jsonb(jobs)})
                return [row["job_id"] for row in cur.fetchall()]
        except pg_errors.UniqueViolation as exc:
            if exc.diag.constraint_name != QUEUEING_LOCK_INDEX:
                raise
            raise InputError(f"a shard of session {session_id} is already waiting in the queue "
                             f"({exc.diag.message_detail or 'queueing lock'}): nothing was queued") from None

    def active_shards(self, session_id: uuid.UUID, task: str) -> list[dict[str, Any]]:
        """The shards of the session whose jobs wait ('todo') or run ('doing')."""
        return self._all("active_shards", {"session_id": str(session_id), "task": task},
                         f"cannot read the queue of session {session_id}")

    def record_worker(self, worker_id: int, hostname: str, pid: int, device: str) -> None:
        self._one_or_none("record_worker", {"worker_id": worker_id, "hostname": hostname, "pid": pid,
                                            "device": device}, f"cannot record queue worker {worker_id}")

    def _one_or_none(self, name: str, params: dict[str, Any], action: str) -> None:
        with self._errors(action), self.conn.cursor() as cur:
            cur.execute(_q(name), params)
