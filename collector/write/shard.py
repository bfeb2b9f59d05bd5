"""One shard of a queued session: the run numbers ``first..last`` that it has not stored yet.

``nyx-collect submit`` creates a session and cuts its run numbers into shards
(:func:`shard_ranges`); a queue worker collects one shard at a time with :func:`collect_shard`.
Each run comes from its own seed (``probe.seeds``), so which worker collects a run, in which
batch, and after how many retries, changes nothing in its row: a sharded session stores what one
``nyx-collect TERM --runs N --seed S`` stores.

A shard is collected like a resumed session: the runs its journal (one file per shard, see
:meth:`~collector.db.journal.Journal.for_shard`) holds from a killed worker are loaded first, then
only the numbers of the range still missing run, a batch at a time through the run sink (commits,
outages, journal). Between batches the worker may ask it to stop (``stopping``): the batch in
hand is finished and committed (or journaled), then :class:`ShardStopped` says the rest is for a
retry. The session completes when a shard finds every run of the session stored; a shard's failure
leaves the session running, for its retry (the queue marks it failed when the retries are spent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from collector.core.errors import InputError
from collector.core.records import RunRecord, SessionRecord, SessionStatus
from collector.db.journal import Journal
from collector.write.journal_runs import load_leftover_journal
from collector.write.sink import OUTAGE_LIMIT_S, RunSink

if TYPE_CHECKING:
    from collector.db.store import Store
    from collector.iris.chroma import Iris
    from collector.judge.registry import SessionJudge
    from collector.model.lm import LanguageModel
    from collector.probe.echo import Sampler

__all__ = ["MAX_SHARDS", "ShardStopped", "ShardSummary", "collect_shard", "shard_ranges"]

MAX_SHARDS = 10_000
"""More jobs than this for one session is a mistake (a shard size of 1 for a million runs)."""


class ShardStopped(Exception):
    """The worker was asked to stop: the runs finished so far are stored, the rest of the shard is
    left for a retry."""


@dataclass(frozen=True)
class ShardSummary:
    session_id: str
    first: int
    last: int
    collected: int  # runs this call stored
    already_stored: int  # runs of the range stored before it (by an earlier attempt)
    session_completed: bool


def shard_ranges(runs: int, shard_size: int) -> list[tuple[int, int]]:
    """Run numbers 1..runs cut into (first, last) ranges of ``shard_size`` (the last may be shorter)."""
    if shard_size < 1:
        raise InputError(f"--shard-size must be at least 1, got {shard_size}")
    ranges = [(first, min(first + shard_size - 1, runs)) for first in range(1, runs + 1, shard_size)]
    if len(ranges) > MAX_SHARDS:
        raise InputError(f"--shard-size {shard_size} cuts {runs} runs into {len(ranges)} shards; "
                         f"at most {MAX_SHARDS}: use a larger --shard-size")
    return ranges


def collect_shard(
    store: Store,
    lm: LanguageModel,
    judge: SessionJudge,
    session: SessionRecord,
    first: int,
    last: int,
    *,
    batch_size: int | None = None,
    sampler: Sampler | None = None,
    iris: Iris | None = None,
    stopping: Callable[[], bool] = lambda: False,
    overlap_judge: bool = False,
    outage_limit_s: float = OUTAGE_LIMIT_S,
    on_note: Callable[[str], None] | None = None,
    on_commit: Callable[[list[RunRecord]], None] | None = None,
) -> ShardSummary:
    """Collect the runs ``first..last`` of ``session`` (a stored, queued session) that it lacks, in
    batches of ``batch_size`` (default: the session's); complete the session if that was its last
    missing run. ShardStopped when ``stopping()`` turned true between two batches."""
    from collector.probe.echo import Probe

    journal = Journal.for_shard(session.session_id, first, last)
    load_leftover_journal(store, session, on_note, journal)
    numbers = [n for n in store.missing_run_numbers(session.session_id, session.runs_requested) if first <= n <= last]
    already = (last - first + 1) - len(numbers)
    index = _chain_index(iris, lm, session)
    collected = 0

    def committed(runs: list[RunRecord]) -> None:
        nonlocal collected
        collected += len(runs)
        if index is not None:
            index.committed(runs)
        if on_commit is not None:
            on_commit(runs)

    sink = RunSink(store, session, committed, outage_limit_s, on_note, journal=journal)
    probe = Probe(lm, judge, session, sampler, overlap_judge=overlap_judge)
    batch = batch_size or session.batch_size
    try:
        for start in range(0, len(numbers), batch):
            if stopping():
                raise ShardStopped(f"stopped with {len(numbers) - start} run(s) of shard {first}-{last} left")
            for finished in probe.run(numbers[start:start + batch], batch):
                sink.add(finished)
            sink.drain()
    except BaseException:
        sink.keep()  # every finished run committed or journaled, on the way out
        raise
    done = _complete_if_stored(store, session, index)
    return ShardSummary(str(session.session_id), first, last, collected, already, done)


def _chain_index(iris: Iris | None, lm: LanguageModel, session: SessionRecord):
    if iris is None:
        return None
    from collector.iris.index import ChainIndex

    return ChainIndex(iris, lm, session, resumed=True)


def _complete_if_stored(store: Store, session: SessionRecord, index) -> bool:
    """Complete the session when every one of its runs is stored (each shard asks after its own
    commits, so the last one to commit sees them all); its semantic variance first, if embedded."""
    if store.count_runs(session.session_id) < session.runs_requested:
        return False
    if index is not None:
        from collector.write.collect import store_spread

        store_spread(store, session, index)
    store.finish_session(session.session_id, SessionStatus.COMPLETED)
    return True
