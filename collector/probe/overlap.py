"""The judge off the critical path: while the model generates round k+1, round k is judged on a thread.

Without the session's ``stop_early`` nothing a generation needs depends on a verdict: the next
prompt and the history are the completion's text whatever its verdict, a run ends after
``max_rounds`` generations, and only the chain and its depth wait for the verdicts. So the pool
advances exactly as :meth:`Probe.run <collector.probe.echo.Probe.run>` advances it in turn (the same
runs in the same steps, the same seeds), each step's items go to one ``judge.judge`` call (the same
items in the same order, so a judge that depends on its batch gives the same verdicts), and a step's
verdicts are recorded once the next step has generated. A run is yielded when its last verdicts are
in: one step later than in turn, with the same rows. With ``stop_early`` a verdict decides whether a
run goes on, so the probe runs in turn (``Probe.run`` never calls this then).

One worker thread judges, one call at a time; an exception it raises reaches the caller when that
step's verdicts are collected, and the thread is shut down (after the call it is in) on every way
out, the generator closed early or a KeyboardInterrupt included.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collector.core.records import RunRecord
    from collector.judge.judge import Verdict
    from collector.probe.echo import Probe, _Chain, _Round


def run_overlapped(probe: Probe, run_numbers: Iterable[int], batch_size: int) -> Iterator[list[RunRecord]]:
    """``probe.run`` with each step's judge on a thread beside the next step's generation."""
    if probe.session.stop_early:
        raise ValueError("a stop_early session cannot judge off the critical path: a verdict decides its next round")
    pending = deque(run_numbers)
    live: list[_Chain] = []
    waiting: tuple[Future[list[Verdict]], _Round] | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nyx-judge") as pool:
        try:
            while pending or live:
                while pending and len(live) < batch_size:
                    live.append(probe._start(pending.popleft()))
                batch = probe.generate_round(live)
                live = [c for c in live if c.generated < probe.session.max_rounds]
                if waiting is not None:
                    finished = probe.settle(waiting[1], waiting[0].result())
                    if finished:
                        yield finished
                waiting = (pool.submit(probe.judge.judge, batch.items), batch)
            if waiting is not None:
                finished = probe.settle(waiting[1], waiting[0].result())
                if finished:
                    yield finished
        finally:
            if waiting is not None:
                waiting[0].cancel()  # not started yet: it never will (else the pool's exit waits for it)
