"""What a caller of the write workflows hears and gets back: the :class:`Progress` it passes in
(status lines, progress bars; the default shows nothing) and the summaries the workflows return."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

__all__ = ["PrecisionCallback", "Progress", "ProgressCallback", "ReplaySummary", "SessionSummary"]

ProgressCallback = Callable[[int, int], None]
#: Called after every check of an --until-ci session with the row of Store.depth_precision.
PrecisionCallback = Callable[[dict], None]


class Progress:
    """What a caller sees of a collection. This one shows nothing; the CLI's draws on stderr."""

    def note(self, line: str) -> None:
        """A status line (which database, which model)."""

    def loading_model(self) -> AbstractContextManager[object]:
        """Around loading the model."""
        return nullcontext()

    def session(self, label: str, total: int, completed: int) -> AbstractContextManager[ProgressCallback]:
        """Around one session; the callback it yields hears (runs stored, runs requested)."""
        return nullcontext(lambda done, total: None)

    def precision(self, row: dict) -> None:
        """After each batch of an --until-ci session: the current interval (Store.depth_precision)."""


@dataclass(frozen=True)
class SessionSummary:
    session_id: str
    term: str
    status: str
    runs_requested: int
    runs_stored: int
    depth_counts: dict[int, int]
    elapsed_s: float
    stopping_rule: str = "fixed"
    stopped_reason: str | None = None  # until_ci: 'precision' or 'max_runs'

    def as_dict(self) -> dict:
        return {
            "session_id": self.session_id,
            "term": self.term,
            "status": self.status,
            "runs_requested": self.runs_requested,
            "runs_stored": self.runs_stored,
            "depth_counts": {str(k): v for k, v in sorted(self.depth_counts.items())},
            "elapsed_s": round(self.elapsed_s, 3),
            "stopping_rule": self.stopping_rule,
            "stopped_reason": self.stopped_reason,
        }


@dataclass(frozen=True)
class ReplaySummary:
    replayed: int
    already_stored: int
