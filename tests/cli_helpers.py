"""Running the CLI in-process and reading the database back in tests."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
import pytest
from psycopg.rows import dict_row

from collector.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture, *argv: str) -> Result:
    """Run ``nyx-collect argv...`` in this process; return exit code, stdout and stderr."""
    capsys.readouterr()
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def query(dsn: str, sql: str, params: tuple | dict | None = None) -> list[dict]:
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def table_counts(dsn: str) -> dict[str, int]:
    """Row counts of the raw tables (used to prove that bad input writes nothing)."""
    tables = ("probe_sessions", "variance_probe_runs", "probe_rounds")
    return {t: query(dsn, f"select count(*) as n from raw.{t}")[0]["n"] for t in tables}
