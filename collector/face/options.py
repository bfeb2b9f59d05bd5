"""What the CLI's commands share: the consoles and ``echo`` (every line they print passes through
``collector.core.printable``), the options that recur, opening the database."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from collector.core.printable import printable


class Screen(Console):
    """A rich console for text that is data: no markup (``[bold]`` and ``[/]`` print as typed), no
    ``:emoji:`` codes, no highlighting, and every string it renders (printed, a table's cell or
    title) made printable first."""

    def __init__(self, **options) -> None:
        super().__init__(markup=False, emoji=False, highlight=False, soft_wrap=True, **options)

    def render_str(self, text: str, **options):
        return super().render_str(printable(text), **options)


def echo(text: object = "") -> None:
    """One line (or several) of data on stdout, made printable; JSON goes out with ``typer.echo``."""
    typer.echo(printable(text))


err = Screen(stderr=True)
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

# The options of a probe session that collect (one machine) and submit (the work queue) share.
TermsArgument = Annotated[Optional[list[str]], typer.Argument(help="Terms to probe, one session each.",
                                                              show_default=False)]
TermsFileOption = Annotated[Optional[Path], typer.Option("--terms-file", help="File with one term a line.",
                                                         show_default=False)]
ChampionsOption = Annotated[bool, typer.Option("--champions", help="Add the six depth-3 terms of the research.")]
TemperatureOption = Annotated[float, typer.Option(help="Sampling temperature; 0 is greedy.")]
TopPOption = Annotated[float, typer.Option("--top-p", help="Nucleus sampling mass.")]
TopKOption = Annotated[int, typer.Option("--top-k", help="Sample among the k most likely tokens; 0 = all.")]
MaxRoundsOption = Annotated[int, typer.Option("--max-rounds", help="Rounds per run, 1 to 3.")]
MaxNewTokensOption = Annotated[int, typer.Option("--max-new-tokens", help="Tokens generated per round.")]
PromptTemplateOption = Annotated[str, typer.Option("--prompt-template",
                                                   help="Round-1 prompt; {term} is replaced by the term.")]

JUDGE_HELP = ("Judge version: ref-3 (the default: the glossary's reference meaning and glosses), ref-2 (the "
              "previous default), rules-1 (the first judge) or llm-1 (a language model on an OpenAI-compatible "
              "server: --judge-url, --judge-model).")

JudgeOption = Annotated[str, typer.Option("--judge", help=JUDGE_HELP)]

JudgeUrlOption = Annotated[
    Optional[str],
    typer.Option("--judge-url", help="--judge llm-1: the server's OpenAI-compatible base URL, e.g. "
                 "http://127.0.0.1:8080/v1 (else $NYX_JUDGE_URL; an API key only from $NYX_JUDGE_API_KEY).",
                 show_default=False),
]
JudgeModelOption = Annotated[
    Optional[str],
    typer.Option("--judge-model", help="--judge llm-1: the model id on that server (else $NYX_JUDGE_MODEL, else "
                 "the one model it serves).", show_default=False),
]
JudgeConcurrencyOption = Annotated[
    Optional[int],
    typer.Option("--judge-concurrency", help="--judge llm-1: requests at once (default 4).", show_default=False),
]
JudgeTimeoutOption = Annotated[
    Optional[float],
    typer.Option("--judge-timeout", help="--judge llm-1: seconds a request may take (default 60; 2 more tries "
                 "after a timeout or a transient error).", show_default=False),
]
JudgeAllowSelfOption = Annotated[
    bool,
    typer.Option("--judge-allow-self", help="--judge llm-1: allow the judge model to be the probed model (refused "
                 "by default: a model would judge its own chains)."),
]


def judge_options(url: str | None, model: str | None, concurrency: int | None, timeout_s: float | None,
                  allow_self: bool) -> dict:
    """The options of a judge with a server, as the library takes them (see judge.registry.ENDPOINT_OPTIONS)."""
    return {"url": url, "model": model, "concurrency": concurrency, "timeout_s": timeout_s, "allow_self": allow_self}


def open_store(dsn_option: str | None, *, announce: bool = True):
    """The configured database, or the embedded server (started if need be)."""
    from collector.db.connect import connect

    return connect(dsn_option, on_note=err.print if announce else None)


def embedded():
    from collector.db.connect import embedded

    return embedded()


def out() -> Console:
    """stdout for reports; when piped, wide enough that tables are not truncated."""
    return Screen(width=None if sys.stdout.isatty() else 160)
