"""How well llm-1 agrees with the lab's readers, per judge model (docs/validity.md, "llm-1").

Starts a llama.cpp server (the ``xllamacpp`` wheel, on loopback) with the judge model's GGUF, then
runs ``nyx-collect validate --judge llm-1 --json`` on the labelled sets of ``--data``:

* ``dev``: the development set ``echo_labelled.jsonl`` (48 hand-written items), whole;
* ``smollm2-real``: the rows of ``echo_real_train.jsonl`` (real SmolLM2-135M chains) on which both
  readers agree (``label == label_b``);
* ``qwen-real``: the same of ``echo_real_train_qwen.jsonl`` (real Qwen2.5-Coder-1.5B chains);

each against the references of ``echo_terms.jsonl``. ``--sample N`` judges a seeded sample of N rows
of a real set, stratified by label (proportional allocation, at least one row a label), where the
whole set would take too long. Prints one line per set (accuracy, kappa, continue/stop accuracy and
kappa, items/s) and with ``--out FILE`` writes every figure as JSON.

    .venv/bin/python bench/llm_judge_agreement.py --model FILE.gguf [--sets dev,smollm2-real,qwen-real]
        [--sample 0] [--seed 19] [--threads 2] [--parallel 2] [--concurrency 2] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests import llama_server  # noqa: E402 - the same server the tests start

SETS = {"dev": ("echo_labelled.jsonl", False), "smollm2-real": ("echo_real_train.jsonl", True),
        "qwen-real": ("echo_real_train_qwen.jsonl", True)}
FIELDS = ("id", "term", "prev", "text", "label", "round")


def rows_of(path: Path, agreeing: bool) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if agreeing:
        rows = [r for r in rows if r["label"] == r.get("label_b")]
    return [{k: r[k] for k in FIELDS if k in r} for r in rows]


def stratified(rows: list[dict], n: int, seed: int) -> list[dict]:
    """``n`` rows drawn by label in proportion to the label's share (at least one a label), seeded."""
    if not n or n >= len(rows):
        return rows
    rng = random.Random(seed)
    by_label: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_label[row["label"]].append(row)
    quota = {label: max(1, round(n * len(group) / len(rows))) for label, group in by_label.items()}
    while sum(quota.values()) > n:
        quota[max(quota, key=quota.get)] -= 1
    while sum(quota.values()) < n:
        quota[max(quota, key=lambda k: len(by_label[k]) - quota[k])] += 1
    chosen = [row for label, group in sorted(by_label.items()) for row in rng.sample(group, quota[label])]
    return sorted(chosen, key=rows.index)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="The judge model, a GGUF file.")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "research")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--sample", type=int, default=0, help="Rows of each real set (0: all agreeing rows).")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="nyx-llm-judge-"))
    # at this script's own priority (run it under nice): the server does the work
    server = llama_server.start(args.model, threads=args.threads, parallel=args.parallel, log=work / "server.log",
                                nice=0)
    results = []
    try:
        for name in args.sets.split(","):
            file, agreeing = SETS[name]
            rows = rows_of(args.data / file, agreeing)
            total = len(rows)
            if agreeing:
                rows = stratified(rows, args.sample, args.seed)
            labelled = work / f"{name}.jsonl"
            labelled.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "collector", "validate", str(labelled), "--references",
                 str(args.data / "echo_terms.jsonl"), "--judge", "llm-1", "--judge-url", server.url,
                 "--judge-concurrency", str(args.concurrency), "--judge-timeout", "600", "--json"],
                cwd=REPO, capture_output=True, text=True)
            elapsed = time.monotonic() - started
            if done.returncode != 0:
                raise SystemExit(f"{name}: {done.stderr.strip()}")
            report = json.loads(done.stdout)
            result = {"set": name, "rows": len(rows), "of": total,
                      "sample_seed": args.seed if len(rows) < total else None,
                      "seconds": round(elapsed, 1), "items_per_s": round(len(rows) / elapsed, 3), **report}
            results.append(result)
            if args.out:  # after every set: a long run that is stopped keeps what it measured
                args.out.write_text(json.dumps(results, indent=1), encoding="utf-8")
            print(f"{args.model.name}  {name:<13} {len(rows):>3} of {total:<3}  accuracy {report['accuracy']:.3f}  "
                  f"kappa {_num(report['kappa'])}  continue/stop {report['continue_stop_accuracy']:.3f} "
                  f"(kappa {_num(report['continue_stop_kappa'])})  {result['items_per_s']:.3f} items/s", flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
