"""Signals during a collection: stop promptly, but never between a commit and its bookkeeping."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class _Interrupts:
    """SIGINT and SIGTERM raise KeyboardInterrupt, except inside a shielded write, where they wait
    for the write to end: a signal between the commit of a batch and its bookkeeping would
    otherwise make the interrupted session write that batch twice."""

    def __init__(self) -> None:
        self.depth = 0
        self.pending = False

    def handler(self, signum, frame) -> None:
        if self.depth:
            self.pending = True
        else:
            raise KeyboardInterrupt

    @contextmanager
    def shielded(self) -> Iterator[None]:
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            if not self.depth and self.pending:
                self.pending = False
                raise KeyboardInterrupt


INTERRUPTS = _Interrupts()
"""Install ``INTERRUPTS.handler`` for SIGINT and SIGTERM (the CLI does) to shield the writes."""
