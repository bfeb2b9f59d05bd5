"""Signals during a collection: stop promptly, but never between a commit and its bookkeeping."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class _Interrupts:
    """SIGINT and SIGTERM raise KeyboardInterrupt, except inside a shielded write, where they wait
    for the write to end: a signal between the commit of a batch and its bookkeeping would
    otherwise make the interrupted session write that batch twice.

    One interruption is raised per stop: a second signal while the collector is already stopping
    (marking the session, printing its last line, exiting) changes nothing, so it can neither cut
    that bookkeeping short nor end the process in a traceback.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.pending = False
        self.stopping = False

    def handler(self, signum, frame) -> None:
        if self.stopping:
            return
        if self.depth:
            self.pending = True
        else:
            self.stopping = True
            raise KeyboardInterrupt

    def reset(self) -> None:
        """Listen again (the CLI calls this as it starts a command)."""
        self.depth, self.pending, self.stopping = 0, False, False

    @contextmanager
    def shielded(self) -> Iterator[None]:
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            if not self.depth and self.pending:
                self.pending = False
                self.stopping = True
                raise KeyboardInterrupt


INTERRUPTS = _Interrupts()
"""Install ``INTERRUPTS.handler`` for SIGINT and SIGTERM (the CLI does) to shield the writes."""
