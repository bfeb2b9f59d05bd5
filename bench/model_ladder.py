"""Model ladder of the echo-type judge: does it rank the model that knows the terms (Qwen2.5-Coder-1.5B)
above the one that does not (SmolLM2-135M), as blind readers do?

    .venv/bin/python bench/model_ladder.py --db /work/ladder-db              # collect (or reuse), judge, print
    .venv/bin/python bench/model_ladder.py --db /work/ladder-db --judges ref-2,ref-3   # later: rejudge only
    .venv/bin/python bench/model_ladder.py --runs 4 --terms Vernunft        # a quick look (temporary server)

On a private embedded PostgreSQL server (bench/private_server.py) it collects the six depth-3 champions
(Geworfenheit, Vernunft, Erkenntnis, Pflicht, Aufhebung, Wille; all with reference meanings in the
shipped glossary) on each model of --models, one session per term and model, full chains, default
sampling, the same --seed for every session, `--no-iris`, judged while collecting by --collect-judge
(ref-2). Every other judge of --judges then judges the same stored rounds again (`nyx-collect
rejudge`), so a new judge never needs new generation. `nyx-collect refresh` builds the marts, and it
prints, per judge, a table of term x model: mean depth [95% CI] from marts.session_judgements, the
pooled mean per model (summed in SQL over the same mart's depth counts), the readers' verdict, and the
check: does the judge order Qwen and SmolLM2 as the readers do? A judge that ranks Qwen below SmolLM2
where the readers rank it above fails.

The readers' verdict comes from --labels (bench/ladder_labels.jsonl: id, label_a, label_b, and
optionally model, term, run, round; two readers, blind to every judge), whose ids are those of the
chains file (--chains, bench/ladder_chains.jsonl: the rounds `--export` wrote for the readers). A run's
readers' depth is the number of leading rounds both readers call EXPANDS or CONFIRMS (each reader's own
depth and their agreement are printed too). When the stored rounds are those the readers read (same
text, checked by sha256), the labels are also imported (labellers reader-a and reader-b) so that
marts.judge_agreement gives each judge's agreement on the ladder chains; when they are not (another
machine, dtype or seed), the readers' verdict is still printed, marked as coming from the labelled
sample of its date.

--db DIR keeps the server and its sessions in DIR (created if missing, never removed): a later call
with the same settings reuses the sessions there (listed in DIR/ladder-sessions.json) and only
rejudges, so adding a judge costs seconds a session, not a collection. Without --db the server lives in
a temporary directory, removed at the end unless --keep. Python computes no depth statistic of the
judges' own; the readers' depths are counted from the labels file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.private_server import Private, private_server  # noqa: E402
from collector.core.dbt_vars import dbt_var  # noqa: E402

CHAMPIONS = ("Geworfenheit", "Vernunft", "Erkenntnis", "Pflicht", "Aufhebung", "Wille")
CHAINS = REPO / "bench" / "ladder_chains.jsonl"
LABELS = REPO / "bench" / "ladder_labels.jsonl"
MANIFEST = "ladder-sessions.json"
READERS = ("reader-a", "reader-b")
CONTINUE = {"EXPANDS", "CONFIRMS"}
TYPES = {"EXPANDS", "CONFIRMS", "CIRCULAR", "DIVERGENT", "COLLAPSE"}
RESERVED_SEEDS = {404: "seed 404 drew the chains of a hidden acceptance set (issue 19): use another"}
# bfloat16 and a fixed batch: on this CPU (AMX) bfloat16 generated Qwen 2.2-2.7x faster than float32, and
# the same seed, dtype and batch reproduced every text exactly (docs/validity.md, "Model ladder"); in
# bfloat16 a row's text can depend on its batch neighbours, so the batch is pinned, not the collector's
# min(128, runs). On a CPU without native bfloat16 pass --dtype float32 (4x faster there).
DEFAULT_DTYPE = "bfloat16"
DEFAULT_BATCH = 16


@dataclass(frozen=True)
class LadderModel:
    key: str  # short name in ids and on the command line
    label: str  # column heading
    knows_terms: bool  # the premise the check rests on when no readers' labels are at hand

    def collect_args(self) -> list[str]:
        if self.key == "smollm2":
            return []  # the collector's default model
        from bench.fetch_model import model_path

        path = model_path("qwen-coder-1.5b")
        if not path.is_file():
            raise SystemExit(f"{path} is missing: run `make qwen-model` (bench/fetch_model.py) first")
        return ["--model", str(path)]


MODELS = {m.key: m for m in (LadderModel("smollm2", "SmolLM2-135M", False),
                             LadderModel("qwen", "Qwen2.5-Coder-1.5B", True))}


# --- the readers' verdict (from the labels file) ------------------------------------------------


@dataclass
class Readers:
    """The readers' depths of one model and term (or pooled over terms): one entry per labelled run."""

    both: list[int] = field(default_factory=list)
    a: list[int] = field(default_factory=list)
    b: list[int] = field(default_factory=list)
    rounds: int = 0
    agreed: int = 0  # rounds with the same type from both readers
    agreed_continue: int = 0  # rounds both call continue, or both stop

    def add(self, other: Readers) -> None:
        self.both += other.both
        self.a += other.a
        self.b += other.b
        self.rounds += other.rounds
        self.agreed += other.agreed
        self.agreed_continue += other.agreed_continue

    @staticmethod
    def mean(depths: list[int]) -> float | None:
        return sum(depths) / len(depths) if depths else None


def leading_continues(labels: list[str]) -> int:
    """Depth of a chain from its round labels in order: the rounds before the first stop."""
    depth = 0
    for label in labels:
        if label not in CONTINUE:
            break
        depth += 1
    return depth


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise SystemExit(f"{path}, line {number}: not JSON ({exc.msg})") from None
    return rows


def read_labels(labels_path: Path, chains: dict[str, dict]) -> list[dict]:
    """The label rows, each completed from the chains file (model, term, run, round, text_sha256, collected)."""
    rows = []
    for number, row in enumerate(read_jsonl(labels_path), 1):
        where = f"{labels_path}, row {number}"
        chain = chains.get(row.get("id"))
        if chain is None:
            raise SystemExit(f"{where}: id {row.get('id')!r} is not in the chains file")
        for name in ("label_a", "label_b"):
            value = row.get(name)
            if not isinstance(value, str) or value.strip().upper() not in TYPES:
                raise SystemExit(f"{where}: {name} must be one of {', '.join(sorted(TYPES))}")
        for name in ("model", "term", "run", "round"):
            if name in row and row[name] != chain[name]:
                raise SystemExit(f"{where}: {name} {row[name]!r} differs from the chains file's {chain[name]!r}")
        rows.append({**chain, "label_a": row["label_a"].strip().upper(), "label_b": row["label_b"].strip().upper()})
    return rows


def readers_verdict(labels: list[dict]) -> dict[tuple[str, str], Readers]:
    """Per (model key, term): the readers' depth of every run whose rounds are labelled up to the first
    stop of each reader (runs with a gap before it are left out, and counted in the note)."""
    runs: dict[tuple[str, str, int], dict[int, dict]] = {}
    for row in labels:
        runs.setdefault((row["model"], row["term"], row["run"]), {})[row["round"]] = row
    out: dict[tuple[str, str], Readers] = {}
    for (model, term, _run), rounds in sorted(runs.items()):
        ordered = [rounds[r] for r in sorted(rounds)]
        if sorted(rounds) != list(range(1, len(rounds) + 1)):
            continue  # a gap: the depth is unknown
        a = [r["label_a"] for r in ordered]
        b = [r["label_b"] for r in ordered]
        both = ["EXPANDS" if x in CONTINUE and y in CONTINUE else "DIVERGENT" for x, y in zip(a, b)]
        depths = (leading_continues(both), leading_continues(a), leading_continues(b))
        if any(d == len(ordered) for d in depths) and len(ordered) < 3:
            continue  # continues into a round nobody labelled
        r = out.setdefault((model, term), Readers())
        r.both.append(depths[0])
        r.a.append(depths[1])
        r.b.append(depths[2])
        r.rounds += len(ordered)
        r.agreed += sum(x == y for x, y in zip(a, b))
        r.agreed_continue += sum((x in CONTINUE) == (y in CONTINUE) for x, y in zip(a, b))
    return out


def order(qwen: float | None, smol: float | None) -> str | None:
    """How a pair of means ranks Qwen against SmolLM2: above, tie or below (None: a mean is missing)."""
    if qwen is None or smol is None:
        return None
    if abs(qwen - smol) < 1e-9:
        return "tie"
    return "above" if qwen > smol else "below"


def check(judge_order: str | None, readers_order: str | None) -> str:
    """pass where the judge ranks the models as the readers do; without readers, where it ranks the
    model that knows the terms above (the premise); a judge ranking Qwen below where the reference is
    above (or a tie) fails."""
    reference = readers_order or "above"
    if judge_order is None:
        return "n/a"
    if judge_order == reference:
        return "pass"
    return "FAIL" if judge_order == "below" or reference == "above" else "differs"


# --- collecting, reusing, rejudging ---------------------------------------------------------------


def settings_of(args) -> dict:
    return {"runs": args.runs, "seed": args.seed, "max_new_tokens": args.max_new_tokens, "dtype": args.dtype,
            "collect_judge": args.collect_judge, "batch_size": args.batch_size}


def load_manifest(base: Path) -> list[dict]:
    path = base / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else []


def save_manifest(base: Path, entries: list[dict]) -> None:
    path = base / MANIFEST
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(entries, indent=1) + "\n")
    tmp.replace(path)


def stored_sessions(dsn: str, ids: list[str]) -> dict[str, dict]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        rows = conn.execute(
            "select s.session_id::text, s.term, s.status, s.dtype, s.judge_version, "
            "(select count(*) from raw.variance_probe_runs as r where r.session_id = s.session_id) as runs "
            "from raw.probe_sessions as s where s.session_id::text = any(%s)", (ids,)).fetchall()
    return {r["session_id"]: r for r in rows}


def sessions_for(server: Private, args) -> tuple[dict[tuple[str, str], str], dict[str, float]]:
    """(model key, term) -> session id: reused from the manifest where the same settings completed, else
    collected now (one nyx-collect per model, every missing term); and the collection seconds per model."""
    settings = settings_of(args)
    entries = load_manifest(server.base)
    known = [e for e in entries if e["settings"] == settings]
    stored = stored_sessions(server.dsn, [e["session_id"] for e in known]) if known else {}
    found: dict[tuple[str, str], str] = {}
    for e in known:
        s = stored.get(e["session_id"])
        if s and s["status"] == "completed" and s["runs"] == args.runs:
            found[(e["model"], e["term"])] = e["session_id"]
    seconds: dict[str, float] = {}
    for key in args.models:
        missing = [t for t in args.terms if (key, t) not in found]
        reused = len(args.terms) - len(missing)
        if reused:
            print(f"{MODELS[key].label}: reusing {reused} sessions from {server.base / MANIFEST}", file=sys.stderr)
        if not missing:
            continue
        extra = [*MODELS[key].collect_args(), "--judge", args.collect_judge, "--dtype", args.dtype,
                 "--batch-size", str(args.batch_size)]
        started = time.perf_counter()
        summaries = server.collect(missing, args.runs, args.seed, args.max_new_tokens, extra)
        seconds[key] = time.perf_counter() - started
        collected_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        for s in summaries:
            if s["status"] != "completed":
                raise SystemExit(f"{MODELS[key].label} {s['term']}: session {s['session_id']} is {s['status']}")
            found[(key, s["term"])] = s["session_id"]
            entries.append({"model": key, "term": s["term"], "session_id": s["session_id"], "settings": settings,
                            "collected_at": collected_at, "collect_s": round(seconds[key], 1),
                            "elapsed_s": s["elapsed_s"]})
        save_manifest(server.base, entries)
    lacking = [f"{k} {t}" for k in args.models for t in args.terms if (k, t) not in found]
    if lacking:
        raise SystemExit(f"no completed session for {', '.join(lacking)}")
    return found, seconds


def rejudge(server: Private, sessions: list[str], judges: list[str], collect_judge: str) -> None:
    """Judge the stored rounds again with every judge but the collecting one, where not done yet."""
    import psycopg

    with psycopg.connect(server.dsn) as conn:
        done = set(conn.execute("select session_id::text, judge_version from raw.session_judgements "
                                "where session_id::text = any(%s)", (sessions,)).fetchall())
    for judge in judges:
        if judge == collect_judge:
            continue
        todo = [s for s in sessions if (s, judge) not in done]
        if todo:
            print(f"$ nyx-collect rejudge ({len(todo)} sessions) --judge {judge}", file=sys.stderr, flush=True)
            started = time.perf_counter()
            server.nyx("rejudge", *todo, "--judge", judge, "--json")
            print(f"  {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)


# --- chains for the readers, and their labels back ---------------------------------------------


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stored_rounds(dsn: str, sessions: dict[tuple[str, str], str], max_run: int | None = None) -> list[dict]:
    """The stored rounds of the ladder sessions (runs 1..max_run), with what a reader sees."""
    import psycopg
    from psycopg.rows import dict_row

    by_id = {sid: key for key, sid in sessions.items()}
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        rows = conn.execute(
            "select r.session_id::text, r.run_number, r.round, r.prompt, r.completion, s.started_at, "
            "coalesce(g.reference, (select n.reference from raw.glossary as n where n.term = s.term "
            "order by n.version desc limit 1)) as reference from raw.probe_rounds as r "
            "inner join raw.probe_sessions as s on s.session_id = r.session_id "
            "left join raw.glossary as g on g.id = s.glossary_id "
            "where r.session_id::text = any(%s) and (%s::int is null or r.run_number <= %s) "
            "order by r.session_id, r.run_number, r.round",
            (list(by_id), max_run, max_run)).fetchall()
    out = []
    for r in rows:
        model, term = by_id[r["session_id"]]
        out.append({"id": f"{model}-{term}-r{r['run_number']:02d}-{r['round']}", "model": model, "term": term,
                    "run": r["run_number"], "round": r["round"], "prev": r["prompt"], "text": r["completion"],
                    "text_sha256": sha256_text(r["completion"]), "reference": r["reference"],
                    "collected": r["started_at"].date().isoformat(), "session_id": r["session_id"]})
    order_models = {k: i for i, k in enumerate(MODELS)}
    order_terms = {t: i for i, t in enumerate(CHAMPIONS)}
    out.sort(key=lambda x: (order_models.get(x["model"], 99), order_terms.get(x["term"], 99), x["term"], x["run"],
                            x["round"]))
    return out


def export_chains(path: Path, rounds: list[dict]) -> None:
    """JSONL for the blind readers: every round of the sample, no judge's verdict."""
    fields = ("id", "model", "term", "run", "round", "prev", "text", "text_sha256", "reference", "collected")
    with path.open("w", encoding="utf-8") as f:
        for r in rounds:
            f.write(json.dumps({k: r[k] for k in fields}, ensure_ascii=False) + "\n")
    print(f"wrote {len(rounds)} rounds for the readers to {path}", file=sys.stderr)


def import_labels(server: Private, labels: list[dict], stored: dict[str, dict]) -> int:
    """Store the readers' labels on the matching stored rounds (labellers reader-a, reader-b) through
    `nyx-collect label import`; the number of label rows."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        for row in labels:
            target = stored[row["id"]]
            for labeller, label in zip(READERS, (row["label_a"], row["label_b"])):
                f.write(json.dumps({"session_id": target["session_id"], "run_number": row["run"],
                                    "round": row["round"], "term": row["term"], "label": label,
                                    "labeller": labeller}) + "\n")
    try:
        server.nyx("label", "import", f.name)
    finally:
        Path(f.name).unlink()
    return 2 * len(labels)


# --- the report ------------------------------------------------------------------------------------


def fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def judge_rows(dsn: str, sessions: dict[tuple[str, str], str], judge: str) -> tuple[dict, dict]:
    """Per (model, term) the session's row of marts.session_judgements for ``judge``; per model the
    pooled mean and 95% interval, summed in SQL over the same rows' depth counts."""
    import psycopg
    from psycopg.rows import dict_row

    by_id = {sid: key for key, sid in sessions.items()}
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        rows = conn.execute(
            "select session_id::text, runs, depth_mean, depth_ci95_low, depth_ci95_high, judge_mode, is_original "
            "from marts.session_judgements where judge_version = %s and session_id::text = any(%s)",
            (judge, list(by_id))).fetchall()
        per = {by_id[r["session_id"]]: r for r in rows}
        pooled = {}
        for model in {m for m, _t in sessions}:
            ids = [sid for (m, _t), sid in sessions.items() if m == model]
            # the interval as the marts compute it (stats.depth_mean_ci_low/high, migrations 0014 and 0016, at z95)
            pooled[model] = conn.execute(
                "with c as (select sum(runs) as n, sum(depth_1 + 2 * depth_2 + 3 * depth_3) as s, "
                "sum(depth_1 + 4 * depth_2 + 9 * depth_3) as q from marts.session_judgements "
                "where judge_version = %s and session_id::text = any(%s)), "
                "r as (select max(max_rounds) as max_rounds from marts.session_stats "
                "where session_id::text = any(%s)), "
                "m as (select n, s::double precision / nullif(n, 0) as mean, "
                "case when n >= 2 then (n * q - s * s)::double precision / (n * (n - 1)) end as var from c) "
                "select n as runs, mean as depth_mean, "
                "stats.depth_mean_ci_low(mean, var, n, max_rounds, %s) as depth_ci95_low, "
                "stats.depth_mean_ci_high(mean, var, n, max_rounds, %s) as depth_ci95_high from m cross join r",
                (judge, ids, ids, dbt_var("z95"), dbt_var("z95"))).fetchone()
    return per, pooled


def interval(r: dict | None) -> str:
    if not r or r["depth_mean"] is None:
        return "n/a"
    return f"{r['depth_mean']:.3f} [{r['depth_ci95_low']:.3f}, {r['depth_ci95_high']:.3f}]"


def ladder_table(judge: str, per: dict, pooled: dict, terms: list[str], readers: dict | None) -> list[str]:
    smol, qwen = MODELS["smollm2"], MODELS["qwen"]
    head = (f"| term | {smol.label}: mean depth [95% CI] | {qwen.label}: mean depth [95% CI] | judge ranks Qwen "
            f"| readers {smol.label} | readers {qwen.label} | readers rank Qwen | check |")
    lines = [head, "|---|---|---|---|---:|---:|---|---|"]
    pooled_readers = {k: Readers() for k in MODELS}
    for term, s_row, q_row, label in [*[(t, per.get(("smollm2", t)), per.get(("qwen", t)), t) for t in terms],
                                      (None, pooled.get("smollm2"), pooled.get("qwen"), "**pooled**")]:
        if term is None:
            rs, rq = pooled_readers["smollm2"], pooled_readers["qwen"]
        else:
            rs = (readers or {}).get(("smollm2", term)) or Readers()
            rq = (readers or {}).get(("qwen", term)) or Readers()
            pooled_readers["smollm2"].add(rs)
            pooled_readers["qwen"].add(rq)
        j = order(q_row and q_row["depth_mean"], s_row and s_row["depth_mean"])
        diff = f" ({q_row['depth_mean'] - s_row['depth_mean']:+.3f})" if j in ("above", "below") else ""
        if j and q_row["depth_ci95_low"] is not None and s_row["depth_ci95_high"] is not None:
            # apart as printed (3 decimals): a bound of 0.00004 above a bound of 0 is not shown as a gap
            q_low, q_high, s_low, s_high = (round(x, 3) for x in (q_row["depth_ci95_low"], q_row["depth_ci95_high"],
                                                                 s_row["depth_ci95_low"], s_row["depth_ci95_high"]))
            if q_low > s_high or q_high < s_low:
                diff += ", intervals apart"
        mean_s, mean_q = Readers.mean(rs.both), Readers.mean(rq.both)
        r = order(mean_q, mean_s)
        verdict = check(j, r)
        cells = [label, interval(s_row), interval(q_row), f"{j or 'n/a'}{diff}",
                 f"{fmt(mean_s)} ({len(rs.both)})" if rs.both else "n/a",
                 f"{fmt(mean_q)} ({len(rq.both)})" if rq.both else "n/a",
                 r or "n/a (premise: above)", verdict]
        if term is None:
            cells = [c if c.startswith("**") else f"**{c}**" for c in cells]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def readers_table(readers: dict[tuple[str, str], Readers], terms: list[str]) -> list[str]:
    lines = ["| model | term | runs labelled | rounds | readers' depth (both continue) | reader A | reader B "
             "| agreement (5 types) | agreement (continue/stop) |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for key, model in MODELS.items():
        total = Readers()
        for term in terms:
            r = readers.get((key, term))
            if not r:
                continue
            total.add(r)
            lines.append(f"| {model.label} | {term} | {len(r.both)} | {r.rounds} | {fmt(Readers.mean(r.both))} | "
                         f"{fmt(Readers.mean(r.a))} | {fmt(Readers.mean(r.b))} | {r.agreed / r.rounds:.3f} | "
                         f"{r.agreed_continue / r.rounds:.3f} |")
        if total.rounds:
            lines.append(f"| **{model.label}** | **all** | **{len(total.both)}** | **{total.rounds}** | "
                         f"**{fmt(Readers.mean(total.both))}** | **{fmt(Readers.mean(total.a))}** | "
                         f"**{fmt(Readers.mean(total.b))}** | **{total.agreed / total.rounds:.3f}** | "
                         f"**{total.agreed_continue / total.rounds:.3f}** |")
    return lines


def agreement_table(dsn: str, sessions: dict[tuple[str, str], str], judges: list[str]) -> list[str]:
    """Each judge against each reader on the ladder chains, from marts.judge_agreement (summed over terms)."""
    import psycopg
    from psycopg.rows import dict_row

    by_model: dict[str, list[str]] = {}
    for (model, term), _sid in sessions.items():
        by_model.setdefault(model, []).append(term)
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        names = {k: conn.execute("select model_name from raw.probe_sessions where session_id = %s",
                                 (sid,)).fetchone()["model_name"] for (k, _t), sid in sessions.items()}
        lines = ["| judge | model | reader | labels | accuracy | continue/stop accuracy | kappa per term (min-max) |",
                 "|---|---|---|---:|---:|---:|---|"]
        for judge in judges:
            for key in MODELS:
                if key not in by_model:
                    continue
                for reader in READERS:
                    r = conn.execute(
                        "select sum(labels) as labels, sum(agreed)::double precision / nullif(sum(labels), 0) as acc, "
                        "sum(continue_stop_agreed)::double precision / nullif(sum(labels), 0) as cs, "
                        "min(kappa) as kmin, max(kappa) as kmax from marts.judge_agreement "
                        "where judge_version = %s and labeller = %s and model_name = %s and term = any(%s)",
                        (judge, reader, names[key], by_model[key])).fetchone()
                    if r["labels"]:
                        lines.append(f"| {judge} | {MODELS[key].label} | {reader} | {r['labels']} | {fmt(r['acc'])} | "
                                     f"{fmt(r['cs'])} | {fmt(r['kmin'])} to {fmt(r['kmax'])} |")
    return lines


# --- main ---------------------------------------------------------------------------------------


def list_arg(choices: set[str] | None = None):
    def parse(text: str) -> list[str]:
        items = list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
        if not items:
            raise argparse.ArgumentTypeError("an empty list")
        bad = [i for i in items if choices is not None and i not in choices]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {', '.join(bad)} (choose from {', '.join(sorted(choices))})")
        return items
    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from collector.judge import registry

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=16, help="runs a term and model (default 16)")
    parser.add_argument("--seed", type=int, default=7, help="session seed, the same for every session (default 7)")
    parser.add_argument("--max-new-tokens", type=int, default=48, help="tokens a round (default 48, the collector's)")
    parser.add_argument("--dtype", default=DEFAULT_DTYPE, choices=["float32", "bfloat16", "auto"],
                        help=f"model dtype (default {DEFAULT_DTYPE}; float32 on a CPU without native bfloat16)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH,
                        help=f"runs side by side (default {DEFAULT_BATCH}, pinned: in bfloat16 a text can depend on "
                             "its batch neighbours)")
    parser.add_argument("--terms", type=list_arg(), default=list(CHAMPIONS), help="comma-separated (default: champions)")
    parser.add_argument("--models", type=list_arg(set(MODELS)), default=list(MODELS),
                        help="comma-separated, of smollm2, qwen (default both)")
    parser.add_argument("--judges", type=list_arg(set(registry.versions())), default=["ref-2"],
                        help="judges to report (comma-separated); each but --collect-judge rejudges the stored rounds")
    parser.add_argument("--collect-judge", default="ref-2", choices=sorted(registry.versions()),
                        help="the judge while collecting (default ref-2; part of the settings a reuse matches)")
    parser.add_argument("--db", type=Path, help="keep the server in DIR and reuse its sessions (created if missing)")
    parser.add_argument("--keep", action="store_true", help="without --db: keep the temporary server afterwards")
    parser.add_argument("--export", type=Path, help="write the first --export-runs runs' rounds for the readers")
    parser.add_argument("--export-runs", type=int, default=8, help="runs a term and model in --export (default 8)")
    parser.add_argument("--chains", type=Path, default=CHAINS, help=f"the chains the readers read (default {CHAINS.relative_to(REPO)})")
    parser.add_argument("--labels", type=Path, default=LABELS, help=f"their labels (default {LABELS.relative_to(REPO)})")
    parser.add_argument("--out", type=Path, help="write the markdown tables here too (default: DIR/ladder.md with --db)")
    args = parser.parse_args(argv)
    if args.runs < 2:
        parser.error("--runs must be at least 2 (an interval needs a variance)")
    if args.seed in RESERVED_SEEDS:
        parser.error(RESERVED_SEEDS[args.seed])
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    if not 1 <= args.export_runs <= args.runs:
        parser.error("--export-runs must be from 1 to --runs")
    if args.collect_judge not in args.judges:
        args.judges.insert(0, args.collect_judge)
    for judge in args.judges:
        if judge != args.collect_judge and registry.entry(judge).needs_probe_model:
            parser.error(f"judge {judge} needs the probe model's hidden states and cannot judge stored rounds again; "
                         "give it as --collect-judge instead")
    if args.keep and args.db:
        parser.error("--keep is for the temporary server; --db DIR is always kept")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chains = {r["id"]: r for r in read_jsonl(args.chains)} if args.chains.is_file() else {}
    labels = read_labels(args.labels, chains) if args.labels.is_file() else []
    started = time.perf_counter()
    try:
        with private_server(args.db, keep=args.keep, prefix="nyx-model-ladder-") as server:
            sessions, seconds = sessions_for(server, args)
            rejudge(server, list(sessions.values()), args.judges, args.collect_judge)
            rounds = stored_rounds(server.dsn, sessions)
            by_id = {r["id"]: r for r in rounds}
            matched = [r for r in labels if r["id"] in by_id and by_id[r["id"]]["text_sha256"] == r["text_sha256"]]
            imported = 0
            if labels and len(matched) == len(labels):
                with __import__("psycopg").connect(server.dsn) as conn:
                    have = conn.execute("select count(*) from raw.round_labels where labeller = any(%s) and "
                                        "session_id::text = any(%s)", (list(READERS), list(sessions.values()))).fetchone()[0]
                imported = have if have == 2 * len(labels) else import_labels(server, labels, by_id)
            server.refresh()
            if args.export:
                export_chains(args.export, [r for r in rounds if r["run"] <= args.export_runs])
            out = report(server, args, sessions, seconds, labels, matched, imported, time.perf_counter() - started)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    text = "\n".join(out) + "\n"
    print(text, flush=True)
    target = args.out or (args.db / "ladder.md" if args.db else None)
    if target:
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}", file=sys.stderr)
    return 0


def report(server: Private, args, sessions, seconds, labels, matched, imported, elapsed: float) -> list[str]:
    entries = {(e["model"], e["term"]): e for e in load_manifest(server.base) if e["settings"] == settings_of(args)}
    dates = sorted({e["collected_at"][:10] for e in entries.values()}) if entries else []
    cost = ", ".join(f"{MODELS[k].label} {sum(e['elapsed_s'] for (m, _t), e in entries.items() if m == k) / 60:.1f} min "
                     f"({len([1 for (m, _t) in entries if m == k])} sessions)" for k in args.models)
    out = [f"Model ladder: {len(args.terms)} terms x {', '.join(MODELS[k].label for k in args.models)}; "
           f"{args.runs} runs a term and model, seed {args.seed}, {args.max_new_tokens} new tokens a round, full chains, "
           f"default sampling, `--no-iris`, dtype {args.dtype}; collected with {args.collect_judge} "
           f"({', '.join(dates) or 'now'}; collection time, summed over sessions: {cost}); "
           f"this call {elapsed:.0f} s{' (sessions reused)' if not seconds else ''}.", ""]
    readers = readers_verdict(labels) if labels else None
    if not labels:
        out += [f"Readers' verdict: none yet ({args.labels.relative_to(REPO) if args.labels.is_relative_to(REPO) else args.labels} "
                "is missing); the check uses the premise that Qwen knows the champions and SmolLM2 does not.", ""]
    elif len(matched) == len(labels):
        out += [f"Readers' verdict: {len(labels)} rounds labelled blind by two readers, the very rounds stored here "
                f"(sha256 of every text matches); imported as {' and '.join(READERS)} ({imported} labels).", ""]
    else:
        date = ", ".join(sorted({r["collected"] for r in labels}))
        out += [f"Readers' verdict: from the labelled sample of {date} ({len(labels)} rounds); only {len(matched)} of "
                "them match a stored text here (another machine, dtype or seed), so the labels are not imported "
                "and no judge agreement is computed.", ""]
    for judge in args.judges:
        per, pooled = judge_rows(server.dsn, sessions, judge)
        origin = "judged while collecting" if judge == args.collect_judge else "rejudged from the stored rounds"
        modes = sorted({r["judge_mode"] for r in per.values()})
        out += [f"### judge {judge} ({origin}; mode {', '.join(modes)})", ""]
        out += ladder_table(judge, per, pooled, args.terms, readers) + [""]
    out += ["check: pass where the judge orders Qwen and SmolLM2 as the readers do (without readers' labels: Qwen "
            "above, the premise); FAIL where it ranks Qwen below, or level where the reference has Qwen above. "
            "Judges' means and intervals: marts.session_judgements (pooled: its depth counts summed in SQL, the "
            "same normal interval); readers: mean of each labelled run's depth (leading rounds both readers call "
            "EXPANDS or CONFIRMS), number of runs in brackets.", ""]
    if readers:
        out += ["Readers (each reader's own depth, and their agreement per round):", ""]
        out += readers_table(readers, args.terms) + [""]
    if imported:
        out += ["Each judge against each reader on the labelled ladder rounds (marts.judge_agreement, summed over "
                "terms):", ""]
        out += agreement_table(server.dsn, sessions, args.judges) + [""]
    return out


if __name__ == "__main__":
    sys.exit(main())
