"""``nyx-collect power``: runs per term to detect a difference in mean depth (marts.term_power)."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

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
    from collector.runner import power_table

    rows = power_table(terms, differences=difference, model=model, dsn=dsn)
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, default=str, ensure_ascii=False))
        return
    print_power(rows)


def print_power(rows: list[dict]) -> None:
    """One line per term and settings: runs, mean, variance, the difference detectable now, and the
    runs per term needed for each difference."""
    console = out()
    differences = sorted({r["difference"] for r in rows})
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["term"], row["settings_key"]), []).append(row)
    console.print("runs per term to detect a difference in mean depth: two-sided, alpha 0.05, power 0.8, normal "
                  "approximation, equal runs per term (for a pair, average the two terms' needs)")
    header = f"{'term':<24} {'runs':>7} {'mean':>6} {'var':>6} {'now':>6}" + "".join(
        f" {'d=' + format(d, 'g'):>8}" for d in differences)
    console.print(header, markup=False)
    for (term, _key), group in groups.items():
        first = group[0]
        by_difference = {r["difference"]: r["runs_needed"] for r in group}
        now = first["detectable_difference"]
        line = (f"{term[:24]:<24} {first['runs']:>7} {_num(first['depth_mean'])} {_num(first['depth_variance'])} "
                f"{_num(now)}" + "".join(f" {_int(by_difference.get(d)):>8}" for d in differences))
        console.print(line, markup=False)
        console.print(f"  settings: {first['settings']}", markup=False)
    console.print("now: the difference detectable at 80% power with the runs collected so far; '-': no variance "
                  "to size from", markup=False)


def _num(value: float | None) -> str:
    return f"{'-':>6}" if value is None else f"{value:6.3f}"


def _int(value: int | None) -> str:
    return "-" if value is None else str(value)
