"""The read side's commands: sessions, stats and analyze over the dbt marts, similar over iris.

Each is a thin command over :mod:`collector.read`; :mod:`collector.face.report` and
:mod:`collector.face.plots` print and draw what the marts computed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from collector.core.printable import json_text
from collector.face.options import DsnOption, IrisOption, JsonLinesOption, echo, out


def sessions(
    dsn: DsnOption = None,
    limit: Annotated[int, typer.Option(help="Show the newest N sessions.")] = 20,
    as_json: JsonLinesOption = False,
) -> None:
    """List sessions with their state (a running session whose collector is gone is 'stale'; one the queue's
    workers collect is 'queued', with its shards) and runs stored / requested.

    Example: nyx-collect sessions --limit 5
    """
    from collector.read.reports import list_sessions

    for row in list_sessions(limit=limit, dsn=dsn):
        if as_json:
            typer.echo(json_text(row, default=str))
        else:
            echo(f"{row['session_id']}  {row['state']:<11}  {row['runs_stored']:>6}/{row['runs_requested']:<6}"
                       f"  {str(row['started_at'])[:19]}  {row['term']}")
            if row.get("queue"):
                q = row["queue"]
                rate = f", {q['runs_per_second']:.2f} runs/s" if q.get("runs_per_second") is not None else ""
                echo(f"    shards {q['shards_done']}/{q['shards_total']} done, {q['shards_running']} running, "
                     f"{q['shards_waiting']} waiting, {q['shards_failed']} failed{rate}"
                     + (f"; on {q['workers']}" if q.get("workers") else ""))


# --- reading the marts ---------------------------------------------------------------------------

PngOption = Annotated[Optional[Path], typer.Option("--png", help="Write a PNG: mean depth and depth shares with "
                                                   "95% intervals, and the echo-type transition heat map.",
                                                   show_default=False)]


def stats(
    session: Annotated[str, typer.Argument(help="Session id, a unique prefix of it, or 'latest'.")],
    dsn: DsnOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the session_stats row as JSON.")] = False,
    png: PngOption = None,
) -> None:
    """Show one session's statistics from the dbt marts (run `dbt build` first).

    Example: nyx-collect stats latest --png depth.png
    """
    from collector.face import report
    from collector.read.reports import echo_transitions, session_report

    found = session_report(session, dsn=dsn)
    row = found.stats
    if png is not None:
        from collector.face import plots

        plots.write_session_png(png, row, echo_transitions([row["term"]], model=row["model_name"], dsn=dsn))
    if as_json:
        typer.echo(report.to_json(row))
    else:
        report.print_session(out(), row, found.patterns, found.judgements)


def analyze(
    terms: Annotated[list[str], typer.Argument(help="Terms to compare.")],
    model: Annotated[Optional[str], typer.Option("--model", help="Only this model name.", show_default=False)]
    = None,
    by: Annotated[Optional[str], typer.Option("--by", help="Also compare each term's settings that differ in "
                                              "this part alone (temperature, top_p, top_k, max_rounds, "
                                              "max_new_tokens, prompt, backend, judge, ...).",
                                              show_default=False)] = None,
    dsn: DsnOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the mart rows as JSON.")] = False,
    png: PngOption = None,
) -> None:
    """Compare the depth distributions of terms from the dbt marts: per term and settings with 95%
    intervals, pairs of terms under the same settings with p-values (Holm-adjusted), sessions
    against their baseline, and with --by one term's settings against each other.

    Example: nyx-collect analyze Aufhebung Vernunft --png terms.png
    Example: nyx-collect analyze Aufhebung --by temperature
    """
    from collector.face import report
    from collector.read.reports import analyze_terms, echo_transitions

    found = analyze_terms(terms, model=model, by=by, dsn=dsn)
    if png is not None:
        from collector.face import plots

        asked = list(dict.fromkeys(r["term"] for r in found.distributions))
        plots.write_terms_png(png, found.distributions, echo_transitions(asked, model=model, dsn=dsn))
    if as_json:
        typer.echo(report.to_json({"distributions": found.distributions, "comparisons": found.comparisons,
                                   "sessions": found.sessions, "agreement": found.agreement,
                                   "by": found.by, "settings_comparisons": found.settings_pairs,
                                   "unpaired": [list(pair) for pair in found.unpaired]}))
    else:
        report.print_analysis(out(), found)


def similar(
    text: Annotated[str, typer.Argument(help="Text to look up.")],
    term: Annotated[Optional[str], typer.Option("--term", help="Only chains of this term.", show_default=False)]
    = None,
    k: Annotated[int, typer.Option("-k", help="How many chains to list.")] = 10,
    model: Annotated[Optional[str], typer.Option(help="Model whose chains to search (default: SmolLM2).",
                                                 show_default=False)] = None,
    iris: IrisOption = None,
    as_json: JsonLinesOption = False,
) -> None:
    """List the stored chains nearest to TEXT in the model's embedding space.

    Example: nyx-collect similar "cancelled and preserved" --term Aufhebung -k 5
    """
    from collector.read.similar import similar_chains

    hits = similar_chains(text, k=k, term=term, model=model, iris=iris)
    for hit in hits:
        if as_json:
            typer.echo(hit.model_dump_json())
        else:
            first = hit.document.splitlines()[1] if "\n" in hit.document else hit.document
            echo(f"{hit.distance:.4f}  {hit.session_id}  run {hit.run_number:<5} depth {hit.depth}  "
                       f"{hit.term}  {hit.echo_types}  {first[:80]}")
