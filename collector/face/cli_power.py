"""``nyx-collect power``: runs per term to detect a difference in mean depth (marts.term_power)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from collector.core.printable import json_text
from collector.face.options import DsnOption, out


def power(
    terms: Annotated[list[str], typer.Argument(help="Terms to size.")],
    difference: Annotated[Optional[list[float]], typer.Option(
        "--difference", help="Difference in mean depth to detect (repeatable; default: every one the mart "
        "was built for, var power_differences).", show_default=False)] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Only this model name.", show_default=False)]
    = None,
    dsn: DsnOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the mart rows as JSON lines.")] = False,
) -> None:
    """Runs per term a two-sided test (alpha 0.05) needs to detect a difference in mean depth with 80%
    power, from each term's observed variance (marts.term_power; run `dbt build` first).

    Example: nyx-collect power Aufhebung Wille --difference 0.1 --difference 0.2
    """
    from collector.read.reports import power_table

    rows = power_table(terms, differences=difference, model=model, dsn=dsn)
    if as_json:
        for row in rows:
            typer.echo(json_text(row, default=str))
        return
    from collector.face import report

    report.print_power(out(), rows)
