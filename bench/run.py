"""Benchmark harness: collection throughput and dbt build time, printed as tables.

    .venv/bin/python bench/run.py                 # everything (about 15 minutes on 2 CPU cores)
    .venv/bin/python bench/run.py dbt             # dbt build over 10k / 100k / 1M synthetic runs
    .venv/bin/python bench/run.py collect         # sequential vs batched collection with SmolLM2, ingestion
    .venv/bin/python bench/run.py ingest          # the database write path alone (20,000 runs)
    .venv/bin/python bench/run.py chains --runs 64   # every judge's full chains (ref-2, ref-3, ...), --stop-early,
                                                     # rules-1 baseline: the judge's share and ms a round

Each part runs in one process on fresh databases of the embedded server (or of the server that
--dsn names, as a superuser), so ratios within a table hold on a noisy machine. Not a test: it
prints figures. Results are appended to docs/performance.md with the machine, date and command.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from collector.db.connect import embedded  # noqa: E402
from collector.db.dsn import libpq_env  # noqa: E402
from collector.db.store import Store  # noqa: E402

DBT = Path(sys.executable).with_name("dbt")
PSQL = shutil.which("psql") or "psql"


# --- databases ---------------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(server_dsn: str, label: str):
    name = f"bench_{label}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    dsn = make_conninfo(server_dsn, dbname=name)
    try:
        with Store.connect(dsn) as store:
            store.migrate()
        yield dsn
    finally:
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def insert_synthetic(dsn: str, sessions: int, runs_per_session: int, offset: int) -> float:
    started = time.perf_counter()
    env = {**os.environ, **libpq_env(dsn)}
    subprocess.run([PSQL, "-q", "-v", "ON_ERROR_STOP=1", "-v", f"sessions={sessions}", "-v",
                    f"runs_per_session={runs_per_session}", "-v", f"offset={offset}", "-f",
                    str(REPO / "bench" / "synthetic.sql")], env=env, check=True)
    return time.perf_counter() - started


def dbt_build(dsn: str, workdir: Path, *args: str) -> float:
    profiles = workdir / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "profiles.example.yml", profiles / "profiles.yml")
    env = {**os.environ, **libpq_env(dsn), "DBT_PROFILES_DIR": str(profiles),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    started = time.perf_counter()
    done = subprocess.run([str(DBT), "build", *args, "--target-path", str(workdir / "target"), "--log-path",
                           str(workdir / "logs")], cwd=REPO, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"dbt build failed:\n{done.stdout[-4000:]}")
    return elapsed


def bench_dbt(server_dsn: str, sizes: list[int]) -> list[tuple]:
    """Full build, then after +1000 runs: a plain `dbt build` (new process) and the routine refresh
    (`nyx-collect refresh --every`: one dbt kept in memory, no unit tests), each after its own +1000."""
    from collector.db.refresh import Refresher

    rows = []
    for size in sizes:
        with fresh_database(server_dsn, f"dbt{size}") as dsn, tempfile.TemporaryDirectory() as work:
            load_s = insert_synthetic(dsn, size // 1000, 1000, 0)
            full_s = dbt_build(dsn, Path(work))
            insert_synthetic(dsn, 1, 1000, size // 1000)
            incremental_s = dbt_build(dsn, Path(work))
            os.environ.update(DBT_TARGET_PATH=str(Path(work) / "target"), DBT_LOG_PATH=str(Path(work) / "logs"),
                              **libpq_env(dsn))  # dbt in this process reads its server from PG*
            refresher = Refresher(REPO)
            refresh_s = []
            for extra in (1, 2):  # the first refresh of a process still parses; the second is the steady state
                insert_synthetic(dsn, 1, 1000, size // 1000 + extra)
                result = refresher.run()
                if not result.ok:
                    raise SystemExit(f"refresh failed: {result.failed}")
                refresh_s.append(result.elapsed_s)
            rows.append((f"{size:,}", f"{load_s:.1f}", f"{full_s:.1f}", f"{incremental_s:.1f}",
                         f"{refresh_s[0]:.1f} / {refresh_s[1]:.1f}"))
            print(f"dbt  {size:>9,} runs: load {load_s:6.1f} s  build {full_s:6.1f} s  "
                  f"+1000 runs: dbt build {incremental_s:6.1f} s, refresh {refresh_s[0]:.1f} s then "
                  f"{refresh_s[1]:.1f} s", flush=True)
    return rows


# --- ingestion -----------------------------------------------------------------------------------


def bench_ingest(server_dsn: str, runs: int, flush: int) -> list[tuple]:
    """The collector's write path alone (Store.write_runs: COPY, one transaction per flush) with
    realistic rows: depth-3 runs of three 48-token rounds, flushed ``flush`` runs at a time."""
    from collector.write.session import new_session
    from collector.core.params import DEFAULT_PROMPT_TEMPLATE, validate_params
    from collector.core.records import EchoType, RoundRecord, RunRecord

    class _Model:  # what new_session reads of a loaded model
        name, revision, device, dtype, default_batch_size = "bench", "bench", "cpu", "float32", flush

    params = validate_params(runs=runs, temperature=0.8, top_p=0.95, top_k=50, max_rounds=3, max_new_tokens=48,
                             seed=1, batch_size=flush, prompt_template=DEFAULT_PROMPT_TEMPLATE)
    session = new_session("Aufhebung", params, _Model())
    text = ("Aufhebung bezeichnet bei Hegel das zugleich Negieren, Bewahren und Hinaufheben eines Moments "
            "in eine hoehere Einheit, in der es als Moment erhalten bleibt")
    def run(n: int) -> RunRecord:
        rounds = [RoundRecord(round=r, prompt=text, completion=text, echo_type=EchoType.EXPANDS, tokens_generated=48,
                              finish_reason="length", n_words=24, distinct_ratio=0.9, nonletter_ratio=0.01,
                              content_words=14, new_stems=6, novelty=0.5, sim_term=0.4, sim_prev=0.5)
                  for r in (1, 2, 3)]
        return RunRecord(session_id=session.session_id, term=session.term, run_number=n, seed=n, depth=3,
                         rounds=rounds, chain=[session.term, text, text, text], model_name="bench", temperature=0.8,
                         max_rounds=3, max_new_tokens=48)
    records = [run(n) for n in range(1, runs + 1)]
    with fresh_database(server_dsn, "ingest") as dsn, Store.connect(dsn) as store:
        store.create_session(session)
        started = time.perf_counter()
        for i in range(0, runs, flush):
            store.write_runs(records[i:i + flush])
        elapsed = time.perf_counter() - started
    rows = runs * 4  # a run row and three round rows
    print(f"ingest {runs} runs ({rows} rows) in flushes of {flush}: {elapsed:.2f} s = {runs / elapsed:,.0f} runs/s, "
          f"{rows / elapsed:,.0f} rows/s", flush=True)
    return [(f"{runs:,}", flush, f"{elapsed:.2f}", f"{runs / elapsed:,.0f}", f"{rows / elapsed:,.0f}")]


# --- collection ----------------------------------------------------------------------------------


class Timers:
    """Wall time spent inside wrapped functions, by name."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def wrap(self, owner, attribute: str, name: str) -> None:
        original = getattr(owner, attribute)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.spent[name] = self.spent.get(name, 0.0) + time.perf_counter() - started

        setattr(owner, attribute, timed)


def bench_collect(server_dsn: str, batched_runs: int, sequential_runs: int, batch_size: int) -> list[tuple]:
    import torch

    from collector.iris.chroma import Iris
    from collector.iris.index import ChainIndex
    from collector.judge.classifier import CLASSIFIER_VERSION
    from collector.judge.judge import Judge
    from collector.probe import echo as probe
    from collector.write.collect import collect_session
    from collector.write.session import load_probe, new_session
    from collector.core.params import DEFAULT_PROMPT_TEMPLATE, frame_term, validate_params
    from collector.probe.sampling import SamplingParams, generate

    timers = Timers()
    timers.wrap(probe, "generate", "generation")
    timers.wrap(Judge, "judge", "classification")
    timers.wrap(Store, "write_runs", "database writes")
    timers.wrap(ChainIndex, "committed", "embeddings to iris")  # includes chain embedding + upsert
    # the measurement as it always was: rules-1 (the probe model's hidden states), runs stop at their
    # first round that does not continue; `chains` below measures ref-2 and full chains
    lm, kit, _sampler = load_probe(None, judge_version=CLASSIFIER_VERSION)
    judge = kit.for_term("Aufhebung")
    rows = []
    results = {}
    for label, runs, batch in (("sequential (batch 1)", sequential_runs, 1),
                               (f"batched (batch {batch_size})", batched_runs, batch_size)):
        timers.spent.clear()
        params = validate_params(runs=runs, temperature=0.8, top_p=0.95, top_k=50, max_rounds=3,
                                 max_new_tokens=48, seed=1, batch_size=batch, prompt_template=DEFAULT_PROMPT_TEMPLATE)
        with fresh_database(server_dsn, "collect") as dsn, Store.connect(dsn) as store:
            iris = Iris.open(path=Path(tempfile.mkdtemp(prefix="nyx-bench-iris-")))
            started = time.perf_counter()
            collect_session(store, lm, judge, new_session("Aufhebung", params, lm, judge=judge, stop_early=True),
                            iris=iris)
            wall = time.perf_counter() - started
            work = store.conn.execute("select coalesce(sum(tokens_generated), 0) as tokens, count(*) as rounds "
                                      "from raw.probe_rounds").fetchone()
            tokens, rounds = work["tokens"], work["rounds"]
            writes = dict(timers.spent)
        results[label] = (runs / wall, wall, tokens, writes, rounds / wall)
        gen = writes.get("generation", 0.0)
        rows.append((label, runs, f"{wall:.1f}", f"{runs / wall:.2f}", f"{tokens / wall:.0f}", f"{gen:.1f}",
                     f"{writes.get('classification', 0):.1f}", f"{writes.get('database writes', 0):.2f}",
                     f"{writes.get('embeddings to iris', 0):.1f}",
                     f"{100 * (wall - gen) / wall:.1f}%", f"{100 * writes.get('database writes', 0) / wall:.2f}%"))
        print(f"collect {label}: {runs} runs in {wall:.1f} s = {runs / wall:.2f} runs/s, {tokens / wall:.0f} tok/s; "
              f"time {', '.join(f'{k} {v:.1f}s' for k, v in writes.items())}", flush=True)

    # the ceiling: plain batched generation of round-1 prompts, no probe around it
    prompt = frame_term(DEFAULT_PROMPT_TEMPLATE, "Aufhebung")
    sampling = SamplingParams(temperature=0.8, top_p=0.95, top_k=50, max_new_tokens=48)
    started = time.perf_counter()
    out = generate(lm, [prompt] * batch_size, list(range(batch_size)), sampling)
    ceiling = sum(g.tokens for g in out) / (time.perf_counter() - started)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seq, bat = results["sequential (batch 1)"], results[f"batched (batch {batch_size})"]
    # runs differ in depth, and a small sequential sample can be shallower or deeper than the
    # batched one: rounds per second compares the same unit of work
    by_rounds = bat[4] / seq[4]
    seq, bat = seq[0], bat[0]
    print(f"ratio batched/sequential {bat / seq:.1f}x runs/s, {by_rounds:.1f}x rounds/s; raw batched generate {ceiling:.0f} tok/s; "
          f"peak RSS {rss_mb:.0f} MB; torch threads {torch.get_num_threads()}", flush=True)
    rows.append(("ratio batched / sequential", "", "", f"{bat / seq:.1f}x ({by_rounds:.1f}x rounds/s)",
                 f"ceiling {ceiling:.0f}", "", "", "",
                 "", "", f"peak RSS {rss_mb:.0f} MB"))
    return rows


# --- full chains against --stop-early, and the judge's share -----------------------------------


def chain_designs(versions: list[str], default: str, baseline: str) -> list[tuple[str, bool]]:
    """The designs of ``chains``: every judge of ``versions`` with full chains (ref-2, ref-3, ...), then
    the default judge with --stop-early, then ``baseline`` (rules-1, the probe model's hidden states)
    with --stop-early, the old default, where it is among ``versions``."""
    designs = [(v, False) for v in versions if v != baseline]
    if default in versions:
        designs.append((default, True))
    if baseline in versions:
        designs.append((baseline, True))
    return designs


def chain_kits(lm, wanted: list[str] | None) -> dict:
    """A loaded JudgeKit for every judge of ``wanted`` (default: every judge in the registry that loads
    without options, so one that needs an endpoint, such as an LLM judge, is left out with a note)."""
    from collector.core.errors import InputError
    from collector.judge import registry
    from collector.judge.select import JudgeKit

    kits = {}
    for version in wanted or list(registry.versions()):
        try:
            kits[version] = JudgeKit(version, lm)
        except InputError as exc:
            if wanted:
                raise SystemExit(f"judge {version}: {exc}") from None
            print(f"chains: judge {version} left out ({exc})", file=sys.stderr, flush=True)
    return kits


def _clear_encoder_caches(kit) -> None:
    """Empty the embedding caches a loaded judge holds: the encoder caches embeddings by text, and the
    same seed gives every design the same round-1 texts, which a warm cache would judge for free."""
    for part in vars(kit._judges).values():
        cache = getattr(part, "_cache", None)
        if hasattr(cache, "clear"):
            cache.clear()


def _timed_judge(judge, spent: dict[str, float]):
    """Time this judge's ``judge`` calls (on the instance: a judge class that calls another's
    ``judge`` inside is counted once)."""
    original = judge.judge

    def timed(items):
        started = time.perf_counter()
        try:
            return original(items)
        finally:
            spent["judge"] = spent.get("judge", 0.0) + time.perf_counter() - started

    object.__setattr__(judge, "judge", timed)
    return judge


def bench_chains(server_dsn: str, runs: int, batch_size: int, terms: list[str], judges: list[str] | None) -> list[tuple]:
    """The same runs (same seed, batched, no iris) with full chains under every judge of ``judges``
    (default: each judge in the registry that needs no endpoint, so ref-3 appears beside ref-2 once it
    is registered), the default judge with --stop-early, and rules-1 (the probe model's hidden states)
    with --stop-early, the old default, as the baseline. Time in generation and in the judge is summed
    over the wrapped calls; the rest (prompt building, sinks, database writes) is the remainder of the
    wall time."""
    from collector.core.glossary import shipped_entries
    from collector.judge.classifier import CLASSIFIER_VERSION
    from collector.judge.registry import DEFAULT_JUDGE
    from collector.core.params import DEFAULT_PROMPT_TEMPLATE, validate_params
    from collector.probe import echo as probe
    from collector.write.collect import collect_session
    from collector.write.session import judge_for_term, load_probe, new_session

    timers = Timers()
    timers.wrap(probe, "generate", "generation")
    lm, _kit, _sampler = load_probe(None, judge_version=DEFAULT_JUDGE)
    kits = chain_kits(lm, judges)
    batch = min(batch_size, runs)
    params = validate_params(runs=runs, temperature=0.8, top_p=0.95, top_k=50, max_rounds=3, max_new_tokens=48,
                             seed=1, batch_size=batch, prompt_template=DEFAULT_PROMPT_TEMPLATE)
    rows = []
    # one unreported warm-up session first: the first generate and the first encoder calls of a process
    # pay one-off costs (thread pools, caches) that would otherwise land on whichever design runs first
    warm = validate_params(runs=min(8, runs), temperature=0.8, top_p=0.95, top_k=50, max_rounds=3, max_new_tokens=48,
                           seed=2, batch_size=min(8, runs), prompt_template=DEFAULT_PROMPT_TEMPLATE)
    with fresh_database(server_dsn, "chains") as dsn, Store.connect(dsn) as store:
        store.seed_glossary(shipped_entries())
        for each in kits.values():
            warm_judge = judge_for_term(store, each, terms[0])
            collect_session(store, lm, warm_judge, new_session(terms[0], warm, lm, judge=warm_judge))
    for term in terms:
        base = None
        for version, stop_early in chain_designs(list(kits), DEFAULT_JUDGE, CLASSIFIER_VERSION):
            label = f"{version}, {'--stop-early' if stop_early else 'full chains'}"
            timers.spent.clear()
            for each in kits.values():
                _clear_encoder_caches(each)
            with fresh_database(server_dsn, "chains") as dsn, Store.connect(dsn) as store:
                store.seed_glossary(shipped_entries())
                judge = _timed_judge(judge_for_term(store, kits[version], term), timers.spent)
                started = time.perf_counter()
                collect_session(store, lm, judge, new_session(term, params, lm, judge=judge, stop_early=stop_early))
                wall = time.perf_counter() - started
                work = store.conn.execute(
                    "select count(*) as rounds, coalesce(sum(tokens_generated), 0) as tokens, "
                    "(select avg(depth) from raw.variance_probe_runs) as depth from raw.probe_rounds").fetchone()
            gen, jud = timers.spent.get("generation", 0.0), timers.spent.get("judge", 0.0)
            rounds = work["rounds"]
            if base is None:
                base = (wall, rounds)
            rows.append((term, label, judge.mode, runs, f"{float(work['depth']):.3f}", f"{wall:.1f}", rounds,
                         work["tokens"], f"{runs / wall:.2f}", f"{rounds / wall:.2f}", f"{gen:.1f}", f"{jud:.1f}",
                         f"{1000 * jud / rounds:.1f}", f"{100 * jud / wall:.1f}%", f"{100 * gen / wall:.1f}%",
                         f"{base[0] / wall:.2f}x" if wall != base[0] else "1x"))
            print(f"chains {term} {label} ({judge.mode}): {runs} runs, {rounds} rounds in {wall:.1f} s = "
                  f"{runs / wall:.2f} runs/s, {rounds / wall:.2f} rounds/s; generation {gen:.1f} s, judge {jud:.1f} s "
                  f"({100 * jud / wall:.1f}%, {1000 * jud / rounds:.1f} ms a round); mean depth "
                  f"{float(work['depth']):.3f}", flush=True)
    return rows


# --- report --------------------------------------------------------------------------------------


def table(header: tuple, rows: list[tuple]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def judges_arg(text: str) -> list[str]:
    """``--judges``: comma-separated judge versions, each one the registry has."""
    from collector.core.errors import InputError
    from collector.judge.registry import check_judge

    versions = list(dict.fromkeys(v.strip() for v in text.split(",") if v.strip()))
    if not versions:
        raise argparse.ArgumentTypeError("no judge named")
    try:
        return [check_judge(v) for v in versions]
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", nargs="?", choices=["all", "dbt", "collect", "ingest", "chains"], default="all",
                        help="chains (not part of all): full chains against --stop-early and the judge's share")
    parser.add_argument("--dsn", help="superuser DSN of a server to create bench databases on")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="dbt benchmark sizes (runs)")
    parser.add_argument("--runs", type=int, default=256, help="batched collection runs")
    parser.add_argument("--sequential-runs", type=int, default=16, help="sequential collection runs")
    parser.add_argument("--batch-size", type=int, default=128, help="batched design (the CPU default)")
    parser.add_argument("--terms", default="Aufhebung", help="chains: comma-separated terms (one session each per design)")
    parser.add_argument("--judges", type=judges_arg, default=None,
                        help="chains: comma-separated judges (default: every judge in the registry that needs no "
                             "endpoint; rules-1 runs --stop-early as the baseline)")
    parser.add_argument("--no-report", action="store_true", help="do not append to docs/performance.md")
    args = parser.parse_args(argv)
    if args.judges and args.part != "chains":
        parser.error("--judges is for the chains part")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    server = args.dsn or embedded().ensure_running()  # never PHOEBE_DSN: bench databases need a superuser
    report = [f"## {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}",
              f"{os.cpu_count()} CPU cores, {platform.machine()}, Python {platform.python_version()}; "
              f"command: `{' '.join(['.venv/bin/python', 'bench/run.py', *sys.argv[1:]])}`", ""]
    if args.part in ("all", "collect"):
        rows = bench_collect(server, args.runs, args.sequential_runs, args.batch_size)
        report += ["Collection, SmolLM2-135M-Instruct (CPU), `Aufhebung`, 48 new tokens per round:", "",
                   table(("design", "runs", "wall s", "runs/s", "tokens/s", "generation s", "classification s",
                          "db writes s", "iris s", "probe overhead", "db writes"), rows), ""]
    if args.part in ("all", "collect", "ingest"):
        rows = bench_ingest(server, 20000, args.batch_size)
        report += ["Ingestion, the collector's write path alone (COPY, one transaction per flush):", "",
                   table(("runs", "runs per flush", "s", "runs/s", "rows/s"), rows), ""]
    if args.part == "chains":
        rows = bench_chains(server, args.runs, args.batch_size, [t for t in args.terms.split(",") if t], args.judges)
        report += [f"Full chains against `--stop-early`, SmolLM2-135M-Instruct (CPU), {args.runs} runs a design, "
                   f"batch {min(args.batch_size, args.runs)}, seed 1, 48 new tokens a round, no iris; judge time is "
                   "inside the session judge's `judge` calls (each judge's own class), ms a round = judge s / rounds:",
                   "",
                   table(("term", "design", "judge mode", "runs", "mean depth", "wall s", "rounds", "tokens",
                          "runs/s", "rounds/s", "generation s", "judge s", "judge ms a round", "judge share",
                          "generation share", "speed vs the first design"), rows), ""]
    if args.part in ("all", "dbt"):
        rows = bench_dbt(server, [int(s) for s in args.sizes.split(",")])
        report += ["`dbt build` over synthetic raw runs (sessions of 1000 runs); each later column after 1000 more:",
                   "",
                   table(("raw runs", "load s", "dbt build s", "incremental `dbt build` s",
                          "`nyx-collect refresh --every`: first / steady s"), rows), ""]
    text = "\n".join(report) + "\n"
    print(text)
    if not args.no_report:
        path = REPO / "docs" / "performance.md"
        if not path.exists():
            path.write_text("# Performance\n\nMeasured with `bench/run.py` (see README). Newest last.\n\n")
        with path.open("a") as out:
            out.write(text + "\n")


if __name__ == "__main__":
    main()
