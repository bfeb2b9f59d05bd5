"""The procrastinate app of the collector: its tasks, their queues, locks and retries.

Tasks (names are stored in the jobs, so they never change):

* ``nyx.collect_shard`` (queue ``collect`` unless ``submit --queue`` names another): one shard of a
  queued session, run by :class:`collector.queue.tasks.ShardRunner`. Its lock (``shard:<session>:
  <first>-<last>``, also the queueing lock) lets one job of a shard wait and one run at a time.
  A failed attempt is retried (:class:`ShardRetry`); a worker told to stop leaves its shard to an
  immediate retry.
* ``nyx.retry_stalled_jobs`` (queue ``maintenance``, periodic): procrastinate's documented recipe:
  a job whose worker's heartbeat is older than ``stalled_after_s`` (the worker was killed or its
  machine lost) goes back to the queue, for another worker.
* ``nyx.refresh`` (queue ``maintenance``, periodic): the routine ``dbt build`` of the marts
  (``nyx-collect refresh``), one at a time across the cluster (lock and queueing lock ``refresh``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from procrastinate import App, PsycopgConnector
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from collector.core.errors import InputError, ModelError, SessionNotFound

if TYPE_CHECKING:
    from collector.queue.tasks import ShardRunner

COLLECT_TASK = "nyx.collect_shard"
REFRESH_TASK = "nyx.refresh"
STALLED_TASK = "nyx.retry_stalled_jobs"
COLLECT_QUEUE = "collect"
MAINTENANCE_QUEUE = "maintenance"
MAX_ATTEMPTS = 5
"""Failed attempts of a shard before its session is marked failed (a stopped worker's shard is
retried whatever its attempts: stopping is not failing)."""
PERMANENT = (InputError, ModelError, SessionNotFound)
"""Failures a retry cannot mend: the session is marked failed at once."""


@dataclass(frozen=True)
class QueueSettings:
    heartbeat_s: float = 10.0
    """How often a worker updates its heartbeat."""
    stalled_after_s: float = 60.0
    """A running job whose worker's heartbeat is older than this is stalled and retried."""
    stalled_cron: str = "* * * * *"
    """How often a worker looks for stalled jobs (cron; a sixth field counts seconds)."""
    refresh_cron: str | None = "*/5 * * * *"
    """How often the marts are refreshed; None: never (refresh by hand or with `nyx-collect refresh --every`)."""


class ShardRetry(BaseRetryStrategy):
    """Retry a shard at once when its worker was stopped; after a failure, in 2, 4, 8 ... s (at
    most 60) until MAX_ATTEMPTS attempts; never after a permanent failure."""

    def get_retry_decision(self, *, exception: BaseException, job) -> RetryDecision | None:
        from collector.write.shard import ShardStopped

        if isinstance(exception, ShardStopped):
            return RetryDecision(retry_in={"seconds": 0})  # not a failure: any number of stops
        if isinstance(exception, PERMANENT) or job.attempts + 1 >= MAX_ATTEMPTS:
            return None
        return RetryDecision(retry_in={"seconds": min(2 ** (job.attempts + 1), 60)})


def make_app(dsn: str, settings: QueueSettings | None = None, runner: ShardRunner | None = None) -> App:
    """The app on ``dsn`` with the collector's tasks; ``runner`` runs the shards (a worker), and
    without it the app only defers and inspects (submit, queue)."""
    from collector.queue import tasks

    settings = settings or QueueSettings()
    app = App(connector=PsycopgConnector(conninfo=dsn))

    @app.task(name=COLLECT_TASK, queue=COLLECT_QUEUE, pass_context=True, retry=ShardRetry())
    def collect_shard(context, session_id: str, first: int, last: int) -> dict:
        if runner is None:
            raise InputError("this process defers jobs; it runs none (start `nyx-collect worker`)")
        return runner.run(context, session_id, first, last)

    @app.periodic(cron=settings.stalled_cron, periodic_id="stalled")
    @app.task(name=STALLED_TASK, queue=MAINTENANCE_QUEUE, queueing_lock=STALLED_TASK, pass_context=True)
    async def retry_stalled_jobs(context, timestamp: int) -> int:
        return await tasks.retry_stalled_jobs(context.app, settings.stalled_after_s)

    @app.task(name=REFRESH_TASK, queue=MAINTENANCE_QUEUE, queueing_lock=REFRESH_TASK, lock=REFRESH_TASK)
    def refresh(timestamp: int | None = None) -> dict:
        return tasks.refresh_marts_once()

    if settings.refresh_cron is not None:
        app.periodic(cron=settings.refresh_cron, periodic_id="refresh")(refresh)
    return app
