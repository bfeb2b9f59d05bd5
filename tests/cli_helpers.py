"""Running the CLI in-process and reading the database back in tests."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import psycopg
import pytest
from psycopg.rows import dict_row

from collector.face.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture | None, *argv: str) -> Result:
    """Run ``nyx-collect argv...`` in this process; return exit code, stdout and stderr.

    With ``capsys`` the output is read from pytest's capture; without it (session-scoped
    fixtures have none) stdout and stderr are redirected into buffers.
    """
    if capsys is not None:
        capsys.readouterr()
        code = _exit_code(argv)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = _exit_code(argv)
    return Result(code, out.getvalue(), err.getvalue())


def _exit_code(argv: tuple[str, ...]) -> int:
    try:
        main(list(argv))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


RAW_CONTROLS = ("\x1b", "\x07", "\x00", "\x9b", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069")
HOSTILE_DIR = "ti\x1b]0;pwned\x07\x1b[31mny"
"""A directory name that retitles and recolours a terminal printed raw; printable, it is HOSTILE_SHOWN."""
HOSTILE_SHOWN = "ti\\x1b]0;pwned\\x07\\x1b[31mny"


def assert_clean(result: Result, code: int = 0) -> None:
    """Exit ``code``, no traceback, no raw control or bidi character anywhere in the output."""
    text = result.out + result.err
    assert result.code == code, result.err
    assert "Traceback" not in text and "MarkupError" not in text, text
    assert not [ch for ch in RAW_CONTROLS if ch in text], ascii(text)


def query(dsn: str, sql: str, params: tuple | dict | None = None) -> list[dict]:
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def table_counts(dsn: str) -> dict[str, int]:
    """Row counts of the raw tables (used to prove that bad input writes nothing)."""
    tables = ("probe_sessions", "variance_probe_runs", "probe_rounds", "glossary", "session_judgements",
              "round_judgements", "round_labels")
    return {t: query(dsn, f"select count(*) as n from raw.{t}")[0]["n"] for t in tables}
