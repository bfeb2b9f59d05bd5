"""What the queue holds, per session and per shard, from the live views dbt builds over
procrastinate's tables (marts.collection_progress, marts.queue_shards): the statistics (counts,
rates) are theirs; this only reads them."""

from __future__ import annotations

from dataclasses import dataclass

from collector.db.connect import connect
from collector.read.marts import read_mart

__all__ = ["QueueReport", "queue_report"]


@dataclass(frozen=True)
class QueueReport:
    sessions: list[dict]
    shards: list[dict]


def queue_report(session: str | None = None, *, dsn: str | None = None, shards: bool = False,
                 active_only: bool = False) -> QueueReport:
    """Every queued session's progress (newest first; ``session``: that one only), and with
    ``shards`` each of their shards. ``active_only``: sessions with shards waiting or running."""
    with connect(dsn) as store:
        store.migrate()
        sid = str(store.resolve_session(session)) if session else None
        rows = read_mart(store, "collection_progress", where={"session_id": sid},
                         order_by=["started_at desc", "session_id"])
        if active_only:
            rows = [r for r in rows if r["shards_waiting"] or r["shards_running"]]
        shard_rows = []
        if shards and rows:
            shard_rows = read_mart(store, "queue_shards", where={"session_id": [r["session_id"] for r in rows], "is_current": True},
                                   order_by=["session_id", "first_run"])
    return QueueReport(rows, shard_rows)
