"""What the CLI's commands share: the stderr console, the options that recur, opening the database."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer
from rich.console import Console

err = Console(stderr=True, highlight=False, soft_wrap=True)
"""Status, progress and errors; data goes to stdout."""

DsnOption = Annotated[
    Optional[str],
    typer.Option("--dsn", help="PostgreSQL DSN (else $PHOEBE_DSN, else PG* variables, else the embedded server).",
                 show_default=False),
]


IrisOption = Annotated[
    Optional[str],
    typer.Option("--iris", help="ChromaDB server host:port (else $IRIS_URL, else an embedded store in the data dir).",
                 show_default=False),
]

JsonLinesOption = Annotated[bool, typer.Option("--json", help="JSON lines on stdout.")]


def open_store(dsn_option: str | None, *, announce: bool = True):
    """The configured database, or the embedded server (started if need be)."""
    from collector.runner import connect

    return connect(dsn_option, on_note=err.print if announce else None)


def embedded():
    from collector.db.connect import embedded

    return embedded()


def out() -> Console:
    """stdout for reports; when piped, wide enough that tables are not truncated."""
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
