"""psycopg's errors as the collector says them: one line that names what went wrong (the
constraint a row broke, the reason a connection failed)."""

from __future__ import annotations

import re

import psycopg
from psycopg import errors as pg_errors

__all__ = ["short_reason"]


def _first_line(text: str) -> str:
    return next((line.strip() for line in str(text).splitlines() if line.strip()), "")


def short_reason(exc: BaseException) -> str:
    """The part of a libpq connection error that says what went wrong, on one line."""
    line = _first_line(str(exc)) or type(exc).__name__
    if " failed: " in line:
        line = line.rsplit(" failed: ", 1)[1]
    line = re.sub(r"^(FATAL|ERROR):\s+", "", line)
    if len(line) > 1 and line[0].isupper() and line[1].islower():
        line = line[0].lower() + line[1:]
    return line


def _describe_violation(exc: psycopg.Error) -> str:
    diag = exc.diag
    where = f"{diag.schema_name}.{diag.table_name}" if diag.table_name else "the table"
    constraint = diag.constraint_name
    if isinstance(exc, pg_errors.CheckViolation):
        # the triggers of migrations/0009 say which run in their detail; a CHECK's detail is the whole row
        detail = _first_line(diag.message_detail or "")
        said = f": {detail}" if detail and not detail.startswith("Failing row contains") else ""
        return f"a row of {where} violates check constraint {constraint}{said}"
    if isinstance(exc, pg_errors.UniqueViolation):
        detail = _first_line(diag.message_detail or "").rstrip(".")
        return f"duplicate row in {where} ({constraint}){': ' + detail if detail else ''}"
    if isinstance(exc, pg_errors.ForeignKeyViolation):
        detail = _first_line(diag.message_detail or "").rstrip(".")
        return f"a row of {where} refers to a missing row ({constraint}){': ' + detail if detail else ''}"
    if isinstance(exc, pg_errors.NotNullViolation):
        return f"a row of {where} has no value for {diag.column_name}"
    return _first_line(diag.message_primary or str(exc)) or type(exc).__name__


def _copy_line(exc: psycopg.Error) -> int | None:
    match = re.search(r"\bCOPY \w+, line (\d+)", exc.diag.context or "")
    return int(match.group(1)) if match else None
