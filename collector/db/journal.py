"""The local journal: finished runs kept on disk while the database is unreachable.

One JSON line per run (a RunRecord), appended and flushed to disk before the collector goes on,
so a long outage costs no memory and loses nothing, even if the collector is killed meanwhile.
``nyx-collect replay JOURNAL`` loads a journal later; loading skips runs already stored, so it is
idempotent.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from collector.errors import InputError
from collector.records import RunRecord


class Journal:
    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def for_session(cls, session_id: object) -> Journal:
        from collector.paths import data_dir

        return cls(data_dir() / "journal" / f"{session_id}.jsonl")

    def append(self, runs: Sequence[RunRecord]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            for run in runs:
                out.write(run.model_dump_json() + "\n")
            out.flush()
            os.fsync(out.fileno())

    def read(self) -> list[RunRecord]:
        """Every run in the journal (later lines win for a repeated run)."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise InputError(f"journal not found: {self.path}") from None
        runs: dict[tuple[str, int], RunRecord] = {}
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                run = RunRecord.model_validate_json(line)
            except ValueError:
                if number == len(lines):
                    continue  # a line cut short by a crash while appending
                raise InputError(f"{self.path}, line {number}: not a journal record") from None
            runs[(str(run.session_id), run.run_number)] = run
        return list(runs.values())

    @property
    def pending(self) -> bool:
        return self.path.exists() and self.path.stat().st_size > 0

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
