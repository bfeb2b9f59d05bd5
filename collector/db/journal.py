"""The local journal: finished runs kept on disk while the database is unreachable.

One JSON line per run (a RunRecord), appended and flushed to disk before the collector goes on,
so a long outage costs no memory and loses nothing, even if the collector is killed meanwhile.
``nyx-collect replay JOURNAL`` loads a journal later; loading skips runs already stored, so it is
idempotent. An append that fails (a full disk, an unwritable directory) leaves the file as it was,
so a journal never holds a half-written line except the last one of a collector killed mid-write.
Journals hold terms and texts: each is 0600 in a 0700 directory, whatever the umask.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from collector.core.errors import InputError
from collector.core.paths import private_dir, private_opener
from collector.core.records import RunRecord

MAX_LINE_BYTES = 16 * 1024 * 1024
"""A run of three 4096-token rounds, JSON-escaped, is far below this; a longer line is not a run."""


class Journal:
    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def for_session(cls, session_id: object) -> Journal:
        from collector.core.paths import data_dir

        return cls(data_dir() / "journal" / f"{session_id}.jsonl")

    @classmethod
    def for_shard(cls, session_id: object, first: int, last: int) -> Journal:
        """The journal of one shard (run numbers first..last) of a queued session: two workers on
        one host may collect two shards of a session at once, each with its own file."""
        from collector.core.paths import data_dir

        return cls(data_dir() / "journal" / f"{session_id}.{int(first)}-{int(last)}.jsonl")

    def append(self, runs: Sequence[RunRecord]) -> None:
        """Add ``runs``, on disk (fsynced) when this returns; OSError, with the file as it was,
        when that is impossible. The file and its directory are their owner's alone."""
        size = None
        try:
            private_dir(self.path.parent)
            with open(self.path, "ab", opener=private_opener) as out:
                size = out.tell()
                if os.fstat(out.fileno()).st_mode & 0o077:  # a journal an older nyx left
                    os.fchmod(out.fileno(), 0o600)
                out.write("".join(run.model_dump_json() + "\n" for run in runs).encode("utf-8"))
                out.flush()
                os.fsync(out.fileno())
        except OSError:
            if size is not None:
                try:
                    os.truncate(self.path, size)
                except OSError:
                    pass
            raise

    def entries(self) -> Iterator[tuple[int, RunRecord]]:
        """(line number, run) for every run of the journal, in file order; InputError naming the
        file (and line) when it is not a journal. A last line cut short by a crash is skipped."""
        try:
            source = self.path.open("rb")
        except FileNotFoundError:
            raise InputError(f"journal not found: {self.path}") from None
        except IsADirectoryError:
            raise InputError(f"journal {self.path} is a directory, not a journal file") from None
        except OSError as exc:
            raise InputError(f"cannot read journal {self.path}: {exc.strerror}") from None
        with source:
            number = 0
            while True:
                raw = source.readline(MAX_LINE_BYTES + 1)
                if not raw:
                    return
                number += 1
                if len(raw) > MAX_LINE_BYTES:
                    raise InputError(f"{self.path}, line {number}: longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB, "
                                     "not a journal record")
                last = not raw.endswith(b"\n")
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    if last:
                        return
                    raise InputError(f"{self.path}, line {number}: not UTF-8 text (byte {exc.start}): not a journal "
                                     "record") from None
                if not line.strip():
                    continue
                try:
                    run = RunRecord.model_validate_json(line)
                except ValueError:
                    if last:
                        return  # a line cut short by a crash while appending
                    raise InputError(f"{self.path}, line {number}: not a journal record") from None
                yield number, run

    def read(self) -> list[RunRecord]:
        """Every run in the journal (later lines win for a repeated run)."""
        runs: dict[tuple[str, int], RunRecord] = {}
        for _number, run in self.entries():
            runs[(str(run.session_id), run.run_number)] = run
        return list(runs.values())

    @property
    def pending(self) -> bool:
        try:
            return self.path.is_file() and self.path.stat().st_size > 0
        except OSError:
            return False

    def clear(self) -> None:
        """Remove the journal once it is loaded (OSError where that is impossible)."""
        self.path.unlink(missing_ok=True)
