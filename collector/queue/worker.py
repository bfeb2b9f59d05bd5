"""``nyx-collect worker``: a procrastinate worker that collects shards (one job at a time: one
GPU, one model), heartbeats so that the queue notices when it dies, and stops cleanly.

SIGTERM or Ctrl-C: the shard in hand finishes its current batch, commits it (or journals it during
an outage) and goes back to the queue for an immediate retry by whichever worker is free; the
worker then unregisters and exits 0. A lost connection to the queue (the database away) stops
procrastinate's worker: this loop starts it again with backoff until the database is back, while a
shard in hand goes on into its journal like a single collector's.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from collector.core.errors import InputError
from collector.db.connect import connect
from collector.queue.app import COLLECT_QUEUE, MAINTENANCE_QUEUE, QueueSettings, make_app
from collector.queue.tasks import ShardRunner, WorkerOptions

__all__ = ["WorkerSummary", "run_worker"]

RESTART_BACKOFF_S = (1.0, 30.0)


@dataclass(frozen=True)
class WorkerSummary:
    jobs: int
    model_loads: int
    restarts: int
    elapsed_s: float


def run_worker(*, queues: list[str] | None = None, options: WorkerOptions | None = None, dsn: str | None = None,
               iris: str | None = None, use_iris: bool = True, settings: QueueSettings | None = None,
               until_empty: bool = False, on_note: Callable[[str], None] | None = None) -> WorkerSummary:
    """Serve the queues (default: collect and maintenance) until a signal (or, ``until_empty``,
    until no job is left); one line per shard to ``on_note``."""
    from collector.write.session import open_iris
    from collector.model.lm import resolve_device

    options = options or WorkerOptions()
    note = on_note or (lambda line: None)
    if options.batch_size is not None and not 1 <= options.batch_size <= 4096:
        raise InputError(f"--batch-size must be between 1 and 4096, got {options.batch_size}")
    options = WorkerOptions(resolve_device(options.device), options.batch_size, options.overlap_judge,
                            options.outage_limit_s)
    queues = list(dict.fromkeys(queues or [COLLECT_QUEUE, MAINTENANCE_QUEUE]))
    _one_line_logs(note)
    started = time.monotonic()
    with connect(dsn, on_note=note) as store:
        store.migrate()
        _dbt_environment(dsn)
        runner = ShardRunner(store, options, open_iris(iris, use_iris), note)
        settings = settings or QueueSettings()
        app = make_app(store.dsn, settings, runner)
        name = f"{socket.gethostname()}:{os.getpid()}"
        note(f"worker {name} on {options.device}, queues {', '.join(queues)}")
        jobs, restarts = asyncio.run(_serve(app, runner, queues, name, settings, until_empty, note))
    return WorkerSummary(jobs, runner.loads, restarts, time.monotonic() - started)


async def _serve(app, runner: ShardRunner, queues: list[str], name: str, settings: QueueSettings,
                 until_empty: bool, note: Callable[[str], None]) -> tuple[int, int]:
    """Run procrastinate's worker; start it again after a lost connection; (jobs, restarts)."""
    from procrastinate.worker import Worker

    loop = asyncio.get_running_loop()
    current: list[Worker] = []

    def stop() -> None:
        if not runner.stopping.is_set():
            note("stopping: the shard in hand finishes its batch and goes back to the queue")
        runner.stopping.set()
        for worker in current:
            worker.stop()

    def lost_job(loop_, context: dict) -> None:
        """procrastinate could not record a job's end (the database away): its worker would hold the
        job's slot for ever. Say so in one line and start a fresh worker; the queue's stalled-job
        task hands the job on."""
        exc = context.get("exception")
        note(f"queue: {context.get('message', 'error')} ({type(exc).__name__ if exc else 'no exception'}); "
             "starting the worker again")
        for worker in current:
            worker.stop()

    loop.set_exception_handler(lost_job)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    restarts, backoff = 0, RESTART_BACKOFF_S[0]
    try:
        while not runner.stopping.is_set():
            worker = Worker(app, queues=queues, name=name, concurrency=1, wait=not until_empty,
                            install_signal_handlers=False, update_heartbeat_interval=settings.heartbeat_s,
                            stalled_worker_timeout=settings.stalled_after_s, listen_notify=True,
                            fetch_job_polling_interval=min(5.0, settings.heartbeat_s))
            current[:] = [worker]
            try:
                async with app.open_async():
                    await worker.run()
                if until_empty or runner.stopping.is_set():
                    break
                note("the queue worker stopped on its own (its heartbeat or listener lost the database); "
                     f"starting again in {backoff:.0f} s")
            except Exception as exc:  # the queue's connection: the database went away
                note(f"lost the queue ({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}); "
                     f"trying again in {backoff:.0f} s")
            restarts += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RESTART_BACKOFF_S[1])
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return runner.jobs, restarts


class _OneLine(logging.Handler):
    """procrastinate's warnings and errors (a lost connection, a stalled job retried) as one line
    each, through the worker's notes: no traceback on the worker's stderr."""

    def __init__(self, note: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self.note = note

    def emit(self, record: logging.LogRecord) -> None:
        line = " ".join(record.getMessage().replace("\\n", " ").split()) or record.name
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None and exc.__cause__ is not None and type(exc).__name__ == "ConnectorException":
            exc = exc.__cause__  # procrastinate's wrapper says only "Database error."; psycopg says why
        if exc is not None:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            line = f"{line.split(' with exception:')[0]} ({type(exc).__name__}: {reason[:300]})"
        self.note(f"queue: {line[:600]}")


def _one_line_logs(note: Callable[[str], None]) -> None:
    for name in ("procrastinate", "collector.queue"):
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if not isinstance(h, _OneLine)] + [_OneLine(note)]
        logger.propagate = False
        logger.setLevel(logging.WARNING)


def _dbt_environment(dsn: str | None) -> None:
    """The periodic refresh runs dbt in this process, which reads its server from PG* (see db.refresh)."""
    from collector.db.connect import connection_env

    os.environ.update(connection_env(dsn))
