"""The CLI's view of a collection: status lines, a spinner while the model loads, and one
progress bar per session, all on stderr (``--quiet`` hides the bars). An --until-ci session's bar
shows the current half-width of the mean depth's 95% interval against its target. Notes and bar
labels carry terms, paths and served models' names: they are made printable (one line each) and
never read as markup."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from rich.console import Console

from collector.core.printable import printable
from collector.write.progress import Progress, ProgressCallback


class ConsoleProgress(Progress):
    def __init__(self, console: Console, *, quiet: bool = False):
        self.console = console
        self.quiet = quiet
        self._current = None  # (bar, task) of the session in progress

    def note(self, line: str) -> None:
        self.console.print(printable(line, line=True), markup=False, emoji=False, highlight=False)

    def loading_model(self) -> AbstractContextManager[object]:
        return self.console.status("Loading the model...")

    @contextmanager
    def session(self, label: str, total: int, completed: int) -> Iterator[ProgressCallback]:
        with _bar(self.console, self.quiet) as bar:
            task = bar.add_task(printable(label, line=True), total=total, completed=completed, precision="")
            self._current = (bar, task)
            try:
                yield lambda done, total: bar.update(task, completed=done)
            finally:
                self._current = None

    def precision(self, row: dict) -> None:
        if self._current is not None:
            bar, task = self._current
            bar.update(task, precision=precision_text(row))


def precision_text(row: dict) -> str:
    """``half-width 0.043 / 0.05 (n 300)``: the interval's half-width (from the database) and the target."""
    width = row.get("half_width")
    shown = "-" if width is None else f"{width:.3f}"
    return f"half-width {shown} / {row['target']:g} (n {row['n']})"


def _bar(console: Console, quiet: bool):
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    class _Rate(TextColumn):
        def render(self, task):  # runs per second over the whole task so far
            elapsed = task.elapsed or 0
            rate = task.completed / elapsed if elapsed > 0 else 0.0
            return super().render(task).__class__(f"{rate:6.1f} runs/s")

    return Progress(
        TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
        _Rate(""), TextColumn("{task.fields[precision]}", markup=False), TimeElapsedColumn(), TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console, disable=quiet, transient=False,
    )
