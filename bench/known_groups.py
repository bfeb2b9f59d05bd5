"""Known-groups check of the echo-type judge: does mean depth rank terms SmolLM2 knows above terms it
gets wrong?

    .venv/bin/python bench/known_groups.py                       # 40 runs a term, about 15-25 min on 2 CPU cores
    .venv/bin/python bench/known_groups.py --runs 10 --keep      # quick look; keep the database afterwards

On a private embedded PostgreSQL server (a fresh directory under /tmp, never the user's data; NYX_HOME
points there too) it collects, with SmolLM2-135M (the default model), one session per term for
the known terms (photosynthesis, recursion, gravity, democracy) and the wrong ones (Pflicht,
Aufhebung, Geworfenheit, Vernunft), twice:

- the judge under test: `--judge ref-2`, full chains (the default);
- the old judge and behaviour: `--judge rules-1 --stop-early`;

every session with the same --seed, --max-new-tokens and `--no-iris`. Then `nyx-collect refresh`
builds the marts, and it prints per judge one row per term from marts.session_stats (runs, mean depth,
its 95% interval, judge mode), the group means (from marts.term_depth_distribution, pooled over the
group's runs in SQL) and the ranking check: does every known term's interval lie above every wrong
term's? Python computes no statistic of its own; it only compares the marts' numbers.

The server is stopped and its directory removed at the end, unless --keep.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.private_server import private_server  # noqa: E402

KNOWN = ["photosynthesis", "recursion", "gravity", "democracy"]
WRONG = ["Pflicht", "Aufhebung", "Geworfenheit", "Vernunft"]
JUDGES = [  # (label, extra collect arguments)
    ("ref-2, full chains", ["--judge", "ref-2"]),
    ("rules-1, --stop-early", ["--judge", "rules-1", "--stop-early"]),
]


def terms_arg(text: str) -> list[str]:
    terms = [t.strip() for t in text.split(",") if t.strip()]
    if not terms:
        raise argparse.ArgumentTypeError("no terms")
    return terms


def report(dsn: str, label: str, session_ids: list[str], known: list[str], wrong: list[str]) -> list[str]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        rows = conn.execute(
            "select session_id::text, term, runs_stored, depth_mean, depth_ci95_low, depth_ci95_high, "
            "judge_version, judge_mode, stop_early from marts.session_stats "
            "where session_id::text = any(%s)", (session_ids,)).fetchall()
        by_term = {r["term"]: r for r in rows}
        versions = sorted({r["judge_version"] for r in rows})
        groups = conn.execute(
            "select case when term = any(%(known)s) then 'known' else 'wrong' end as grp, "
            "sum(runs) as runs, sum(depth_mean * runs) / sum(runs) as depth_mean "
            "from marts.term_depth_distribution "
            "where judge_version = any(%(versions)s) and (term = any(%(known)s) or term = any(%(wrong)s)) "
            "group by 1 order by 1",
            {"known": known, "wrong": wrong, "versions": versions}).fetchall()
    missing = [t for t in known + wrong if t not in by_term]
    if missing:
        raise SystemExit(f"{label}: no session_stats row for {', '.join(missing)}")
    lines = [f"judge {label} (judge_version {', '.join(versions)})", "",
             "| term | group | runs | mean depth | 95% interval | judge mode |", "|---|---|---:|---:|---|---|"]
    for group, terms in (("known", known), ("wrong", wrong)):
        for term in terms:
            r = by_term[term]
            lines.append(f"| {term} | {group} | {r['runs_stored']} | {r['depth_mean']:.3f} | "
                         f"[{r['depth_ci95_low']:.3f}, {r['depth_ci95_high']:.3f}] | {r['judge_mode']} |")
    lines.append("")
    means = {g["grp"]: g for g in groups}
    lowest_known = min(known, key=lambda t: by_term[t]["depth_ci95_low"])
    highest_wrong = max(wrong, key=lambda t: by_term[t]["depth_ci95_high"])
    low, high = by_term[lowest_known]["depth_ci95_low"], by_term[highest_wrong]["depth_ci95_high"]
    passed = low > high
    lines.append("group means (marts.term_depth_distribution, pooled over the group's runs): " + ", ".join(
        f"{g} {means[g]['depth_mean']:.3f} ({means[g]['runs']} runs)" for g in ("known", "wrong") if g in means))
    if "known" in means and "wrong" in means:
        lines.append(f"difference known - wrong: {means['known']['depth_mean'] - means['wrong']['depth_mean']:+.3f}")
    lines.append(f"ranking check (every known interval above every wrong one): {'PASS' if passed else 'FAIL'} "
                 f"(lowest known lower bound {low:.3f} [{lowest_known}] vs highest wrong upper bound "
                 f"{high:.3f} [{highest_wrong}])")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=40, help="runs per term and judge (default 40)")
    parser.add_argument("--seed", type=int, default=1, help="session seed, the same for every term and judge")
    parser.add_argument("--max-new-tokens", type=int, default=48, help="tokens per round (default 48)")
    parser.add_argument("--terms-known", type=terms_arg, default=KNOWN, help="comma-separated known terms")
    parser.add_argument("--terms-wrong", type=terms_arg, default=WRONG, help="comma-separated wrong terms")
    parser.add_argument("--keep", action="store_true", help="keep the server and its database afterwards")
    args = parser.parse_args()
    if args.runs < 2:
        parser.error("--runs must be at least 2 (an interval needs a variance)")
    overlap = set(args.terms_known) & set(args.terms_wrong)
    if overlap:
        parser.error(f"terms in both groups: {', '.join(sorted(overlap))}")

    started = time.perf_counter()
    try:
        with private_server(keep=args.keep, prefix="nyx-known-groups-") as server:
            terms = args.terms_known + args.terms_wrong
            sessions = {label: [s["session_id"] for s in server.collect(terms, args.runs, args.seed,
                                                                          args.max_new_tokens, extra)]
                        for label, extra in JUDGES}
            server.refresh()
            out = [f"known-groups check: {args.runs} runs a term, seed {args.seed}, {args.max_new_tokens} new tokens "
                   f"a round, SmolLM2-135M-Instruct, {time.perf_counter() - started:.0f} s", ""]
            for label, _extra in JUDGES:
                out += report(server.dsn, label, sessions[label], args.terms_known, args.terms_wrong) + [""]
            print("\n".join(out), flush=True)
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
