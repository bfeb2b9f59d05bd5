"""The judge off the critical path: a collection with and without ``overlap_judge``, side by side.

    .venv/bin/python bench/judge_overlap.py                      # 40 runs, batch 20, embedded server
    .venv/bin/python bench/judge_overlap.py --runs 16 --batch-size 8 --dsn postgresql://...

Collects the same session (one term, the same seed, full chains) with the embedded default model
(SmolLM2-135M) and the default judge, once judging in turn and once with each round judged on a
thread while the next one generates (``collect_session(..., overlap_judge=True)``), each into a fresh
database of the embedded server (or of the server --dsn or NYX_TEST_DSN names, as a superuser).
Prints wall time, runs/s, the time inside generation and inside ``judge.judge`` calls (on the judge's
thread, with the overlap) as shares of the wall time, and whether the two sessions stored the same
rows. Not a test: it prints figures. An unreported warm-up session goes first.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.run import Timers, _clear_encoder_caches, fresh_database  # noqa: E402
from collector.core.glossary import shipped_entries  # noqa: E402
from collector.core.params import DEFAULT_PROMPT_TEMPLATE, validate_params  # noqa: E402
from collector.db.connect import embedded  # noqa: E402
from collector.db.store import Store  # noqa: E402
from collector.judge.registry import DEFAULT_JUDGE  # noqa: E402
from collector.probe import echo as probe  # noqa: E402
from collector.write.collect import collect_session  # noqa: E402
from collector.write.session import judge_for_term, load_probe, new_session  # noqa: E402

ROUND_COLUMNS = ("run_number, round, prompt, completion, echo_type, tokens_generated, finish_reason, novelty, "
                 "sim_term, sim_prev, sim_ref")


class TimedJudge:
    """The session's judge, summing the seconds spent inside its ``judge`` calls (on whichever thread)."""

    def __init__(self, judge, spent: dict[str, float]):
        self.inner, self.spent = judge, spent
        self.threads: set[str] = set()

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def judge(self, items):
        self.threads.add(threading.current_thread().name)
        started = time.perf_counter()
        try:
            return self.inner.judge(items)
        finally:
            self.spent["judge"] = self.spent.get("judge", 0.0) + time.perf_counter() - started


def collect(server: str, lm, kit, term: str, params, overlap: bool, timers: Timers) -> dict:
    """One session of ``term`` into a fresh database; its figures and its stored rows."""
    timers.spent.clear()
    _clear_encoder_caches(kit)  # the same seed gives the same texts: a warm cache would judge them for free
    with fresh_database(server, "overlap") as dsn, Store.connect(dsn) as store:
        store.seed_glossary(shipped_entries())
        judge = TimedJudge(judge_for_term(store, kit, term), timers.spent)
        session = new_session(term, params, lm, judge=judge)
        started = time.perf_counter()
        collect_session(store, lm, judge, session, overlap_judge=overlap)
        wall = time.perf_counter() - started
        runs = store.conn.execute("select run_number, seed, depth, echo_types, chain from raw.variance_probe_runs "
                                  "order by run_number").fetchall()
        rounds = store.conn.execute(f"select {ROUND_COLUMNS} from raw.probe_rounds order by 1, 2").fetchall()
    return dict(wall=wall, runs=runs, rounds=rounds, threads=judge.threads, **timers.spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--max-rounds", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--term", default="Aufhebung")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2,
                        help="pairs of sessions, in alternating order (in turn, overlap, overlap, in turn, ...)")
    parser.add_argument("--dsn", help="superuser DSN of a server to create bench databases on (else NYX_TEST_DSN, "
                                      "else the embedded server)")
    args = parser.parse_args()

    server = args.dsn or os.environ.get("NYX_TEST_DSN") or embedded().ensure_running()
    timers = Timers()
    timers.wrap(probe, "generate", "generation")
    lm, kit, _sampler = load_probe(None, judge_version=DEFAULT_JUDGE)
    print(f"model {lm.name} on {lm.device} ({lm.dtype}); judge {kit.judge_version}; {args.runs} runs of "
          f"{args.term!r}, batch {args.batch_size}, {args.max_rounds} rounds of {args.max_new_tokens} tokens", flush=True)

    def params(runs: int, batch: int, seed: int):
        return validate_params(runs=runs, temperature=0.8, top_p=0.95, top_k=50, max_rounds=args.max_rounds,
                               max_new_tokens=args.max_new_tokens, seed=seed, batch_size=batch,
                               prompt_template=DEFAULT_PROMPT_TEMPLATE)

    collect(server, lm, kit, args.term, params(4, 4, args.seed + 1), True, timers)  # warm-up, not reported
    order = [(False, True) if i % 2 == 0 else (True, False) for i in range(args.repeat)]
    print("| judge | wall s | runs/s | rounds | generation | judge.judge | judge's share of wall | judge thread |")
    print("|---|---|---|---|---|---|---|---|", flush=True)
    results = []
    for overlap in (overlap for pair in order for overlap in pair):
        r = collect(server, lm, kit, args.term, params(args.runs, args.batch_size, args.seed), overlap, timers)
        results.append((overlap, r))
        gen, jud = r.get("generation", 0.0), r.get("judge", 0.0)
        print(f"| {'overlap' if overlap else 'in turn'} | {r['wall']:.1f} | {args.runs / r['wall']:.2f} | "
              f"{len(r['rounds'])} | {gen:.1f} s | {jud:.1f} s | {100 * jud / r['wall']:.1f}% | "
              f"{', '.join(sorted(r['threads']))} |", flush=True)
    walls = {o: sum(r["wall"] for ov, r in results if ov == o) for o in (False, True)}
    first = results[0][1]
    same = all(r["runs"] == first["runs"] and r["rounds"] == first["rounds"] for _, r in results)
    print(f"overlap/in turn, summed over {args.repeat} pair(s): {walls[False] / walls[True]:.2f}x runs/s; "
          f"stored rows identical in every session: {same} ({len(first['runs'])} runs, "
          f"{len(first['rounds'])} rounds each)", flush=True)


if __name__ == "__main__":
    main()
