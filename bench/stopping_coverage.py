"""How many runs `nyx-collect TERM --until-ci H` needs, and whether its interval stays honest.

    .venv/bin/python bench/stopping_coverage.py                 # simulation, fixed distributions (~1 min)
    .venv/bin/python bench/stopping_coverage.py --dsn DSN       # distributions of the six terms from that store
    .venv/bin/python bench/stopping_coverage.py --real --dsn DSN --until-ci 0.1 --runs 1000   # SmolLM2, collects

(a) Simulation. For depth distributions like the six depth-3 terms of the research (Geworfenheit,
Vernunft, Erkenntnis, Pflicht, Aufhebung, Wille), it replays the collector's rule many times: runs
in batches of --batch-size (128, the CPU default), a check before the first batch and after each,
stop once n >= --min-runs (100) and z95 * sqrt(max(s^2, min(27 / n, 9 / 4)) / n) <= the target (the
formula and variance floor of stats.depth_mean_ci_half_width, migration 0014, at max_rounds 3; a test
pins half_width below to it), or at --cap runs. It prints, per term
and target (0.1, 0.05, 0.03), the median and 90th percentile of the runs needed, how often the
rule stopped by 1000 runs (the fixed default), and the coverage of the 95% interval at the stop: the
share of repetitions whose interval holds the distribution's true mean (nominal 95%).

(b) Stopping on significance instead, for contrast: two terms with the same distribution (the
first one's), a Welch z-test of their mean depths after every batch of each up to 1000 runs (8
looks), stop at the first p < 0.05. The share of repetitions that "find" a difference is the false
positive rate (nominal 5%).

The distributions without --dsn are fixed ones stated below: shares of depth 0..3 in the range
rules-1 measured for these terms (mean depth 2.1-2.5, standard deviation about 1; docs/validity.md),
plus one where every run has depth 0, as ref-2 judges SmolLM2's chains of these terms today, where
only the variance floor stops the rule. With --dsn, each term's shares come from its stored runs
(raw.variance_probe_runs, all sessions), read with one query.

(c) --real runs `nyx-collect --champions --until-ci H --runs MAX --no-iris` (SmolLM2 by default)
against --dsn and prints each session's runs and why it stopped.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
NYX = Path(sys.executable).with_name("nyx-collect")
Z95 = 1.959963984540054
TERMS = ("Geworfenheit", "Vernunft", "Erkenntnis", "Pflicht", "Aufhebung", "Wille")
#: shares of depth 0, 1, 2, 3 (plausible, stated; see the module docstring)
FIXED = {
    "Geworfenheit": (0.08, 0.14, 0.33, 0.45),
    "Vernunft": (0.10, 0.15, 0.28, 0.47),
    "Erkenntnis": (0.06, 0.10, 0.30, 0.54),
    "Pflicht": (0.11, 0.14, 0.30, 0.45),
    "Aufhebung": (0.09, 0.13, 0.29, 0.49),
    "Wille": (0.05, 0.09, 0.24, 0.62),
    "all depth 0 (ref-2)": (1.0, 0.0, 0.0, 0.0),
}


def shares_from_store(dsn: str) -> dict[str, tuple[float, ...]]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        rows = conn.execute("select term, depth, count(*) from raw.variance_probe_runs where term = any(%s) "
                            "group by term, depth", (list(TERMS),)).fetchall()
    counts: dict[str, list[int]] = {}
    for term, depth, n in rows:
        counts.setdefault(term, [0, 0, 0, 0])[depth] += n
    return {t: tuple(c / sum(c) for c in counts[t]) for t in TERMS if t in counts}


def half_width(variance, n):
    """stats.depth_mean_ci_half_width at max_rounds 3, vectorised: z95 * sqrt(max(s^2, 9 * min(3 / n, 1/4)) / n)."""
    return Z95 * np.sqrt(np.maximum(variance, 9.0 * min(3.0 / n, 0.25)) / n)


def simulate_rule(shares, target, *, reps, batch, min_runs, cap, rng):
    """Runs needed and whether the interval at the stop covers the true mean, for ``reps`` repetitions."""
    p = np.asarray(shares, dtype=float)
    true_mean = float(p @ np.arange(4))
    checks = np.arange(batch, cap + 1, batch)
    sums = np.zeros(reps)
    squares = np.zeros(reps)
    done = np.zeros(reps, dtype=bool)
    needed = np.full(reps, cap)
    covered = np.zeros(reps, dtype=bool)
    last = 0
    for n in checks:
        draws = rng.choice(4, size=(reps, n - last), p=p).astype(float)
        sums += draws.sum(axis=1)
        squares += (draws ** 2).sum(axis=1)
        last = n
        mean = sums / n
        variance = np.maximum((squares - n * mean ** 2) / (n - 1), 0.0)
        width = half_width(variance, n)
        stop = ~done & (((n >= min_runs) & (width <= target)) | (n == checks[-1]))
        needed[stop] = n
        covered[stop] = np.abs(mean[stop] - true_mean) <= width[stop]
        done |= stop
        if done.all():
            break
    return needed, covered


def simulate_significance(shares, *, reps, batch, cap, rng):
    """Share of repetitions in which two terms of one distribution test 'different' at some look."""
    p = np.asarray(shares, dtype=float)
    found = np.zeros(reps, dtype=bool)
    stats = {side: [np.zeros(reps), np.zeros(reps)] for side in "ab"}
    last = 0
    for n in range(batch, cap + 1, batch):
        for side in "ab":
            draws = rng.choice(4, size=(reps, n - last), p=p).astype(float)
            stats[side][0] += draws.sum(axis=1)
            stats[side][1] += (draws ** 2).sum(axis=1)
        last = n
        means = {s: stats[s][0] / n for s in "ab"}
        var = {s: (stats[s][1] - n * means[s] ** 2) / (n - 1) for s in "ab"}
        se = np.sqrt((var["a"] + var["b"]) / n)
        z = np.abs(means["a"] - means["b"]) / np.where(se > 0, se, np.inf)
        found |= z > Z95
    return float(found.mean())


def real(args) -> None:
    command = [str(NYX), "--champions", "--until-ci", str(args.until_ci), "--runs", str(args.runs), "--min-runs",
               str(args.min_runs), "--no-iris", "--quiet", "--json", "--dsn", args.dsn, *args.extra]
    started = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
        stdout = done.stdout
    except subprocess.TimeoutExpired as exc:  # the sessions finished so far are still worth printing
        done, stdout = None, (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        print(f"stopped after --timeout {args.timeout:g} s; the sessions finished by then:")
    elapsed = time.monotonic() - started
    if done is not None and done.returncode != 0:
        sys.exit(f"nyx-collect failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    print("| term | runs | stopped | elapsed |\n|---|---:|---|---:|")
    for line in stdout.splitlines():
        s = json.loads(line)
        print(f"| {s['term']} | {s['runs_stored']} | {s['stopped_reason']} | {s['elapsed_s']:.0f} s |")
    print(f"\n{elapsed:.0f} s in all; {' '.join(command[1:])}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", help="read the six terms' depth shares from this store (or collect into it)")
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--min-runs", type=int, default=100)
    parser.add_argument("--cap", type=int, default=12800, help="most runs a simulated session may take")
    parser.add_argument("--targets", default="0.1,0.05,0.03")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--real", action="store_true", help="collect the six terms with --until-ci (needs --dsn)")
    parser.add_argument("--until-ci", type=float, default=0.1)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("extra", nargs="*", help="after --: more nyx-collect options (--max-new-tokens 16 ...)")
    args = parser.parse_args()
    if args.real:
        if not args.dsn:
            parser.error("--real collects: name the store with --dsn")
        real(args)
        return 0
    rng = np.random.default_rng(args.seed)
    distributions = shares_from_store(args.dsn) if args.dsn else FIXED
    targets = [float(t) for t in args.targets.split(",")]
    started = time.monotonic()
    print(f"(a) the --until-ci rule: batches of {args.batch_size}, min {args.min_runs} runs, cap {args.cap}, "
          f"{args.reps} repetitions, seed {args.seed}; shares from {'the store' if args.dsn else 'FIXED'}\n")
    print("| term | shares 0/1/2/3 | mean | sd | target | runs needed: median | p90 | stopped by 1000 | "
          "coverage at stop |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for term, shares in distributions.items():
        p = np.asarray(shares)
        mean = float(p @ np.arange(4))
        sd = math.sqrt(float(p @ (np.arange(4) - mean) ** 2))
        for target in targets:
            needed, covered = simulate_rule(shares, target, reps=args.reps, batch=args.batch_size,
                                            min_runs=args.min_runs, cap=args.cap, rng=rng)
            print(f"| {term} | {'/'.join(f'{s:.2f}' for s in shares)} | {mean:.3f} | {sd:.3f} | {target:g} | "
                  f"{int(np.median(needed))} | {int(np.percentile(needed, 90))} | {np.mean(needed <= 1000):.1%} | "
                  f"{covered.mean():.1%} |")
    first = next(iter(distributions.values()))
    rate = simulate_significance(first, reps=args.reps, batch=args.batch_size, cap=1000, rng=rng)
    print(f"\n(b) stopping on significance: two terms of one distribution ({next(iter(distributions))}), a test "
          f"after every batch of {args.batch_size} up to 1000 runs each, stop at p < 0.05: "
          f"false positive rate {rate:.1%} (nominal 5.0%), {args.reps} repetitions")
    print(f"\n{time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
