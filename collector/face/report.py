"""Display of mart rows: terminal tables and histograms, and JSON (the PNG charts are in ``plots``).

Nothing here computes a statistic: every number shown is a column of a dbt mart, read by
``collector.db.store``. Bars are drawn from the mart's own shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from rich.console import Console
from rich.table import Table

from collector.core.printable import json_text

DEPTHS = (0, 1, 2, 3)
ECHO_TYPES = ("EXPANDS", "CONFIRMS", "CIRCULAR", "DIVERGENT", "COLLAPSE")
BAR_WIDTH = 40


def _jsonable(value: Any) -> Any:
    if isinstance(value, (UUID, datetime)):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def to_json(data: Any) -> str:
    """Rows (dicts, or dicts of lists of dicts) as JSON, UUIDs and timestamps as strings."""
    return json_text(data, default=_jsonable, indent=2)


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _bar(share: float | None) -> str:
    filled = round((share or 0.0) * BAR_WIDTH)
    return "█" * filled + "·" * (BAR_WIDTH - filled)


def depth_histogram(row: dict[str, Any]) -> Table:
    """Depth 0..3 as bars, with the counts and shares of a mart row (session or pool) and, where the
    mart has them, the shares' Wilson 95% intervals."""
    table = Table(box=None, show_header=True, pad_edge=False)
    table.add_column("depth", justify="right")
    table.add_column("runs", justify="right")
    table.add_column("share", justify="right")
    intervals = "share_depth_0_ci95_low" in row
    if intervals:
        table.add_column("95% CI", justify="left")
    table.add_column("")
    for d in DEPTHS:
        share = row.get(f"share_depth_{d}")
        cells = [str(d), str(row[f"depth_{d}"]), _num(share)]
        if intervals:
            cells.append(_interval(row.get(f"share_depth_{d}_ci95_low"), row.get(f"share_depth_{d}_ci95_high")))
        table.add_row(*cells, _bar(share))
    return table


def _interval(low: float | None, high: float | None, digits: int = 3) -> str:
    return "-" if low is None or high is None else f"[{low:.{digits}f}, {high:.{digits}f}]"


def _p(value: float | None) -> str:
    """A p-value: three decimals, or its order of magnitude below 0.001."""
    if value is None:
        return "-"
    return f"{value:.3f}" if value >= 0.001 else f"{value:.1e}"


def agreement_line(row: dict[str, Any]) -> str | None:
    """The judge's measured agreement with human labels on this model and term (the mart's pooled
    columns), or None when nothing is labelled."""
    n = row.get("labelled_rounds") or 0
    if not n:
        return None
    people = row.get("judge_labellers") or 0
    return (f"{n} labelled round{'s' if n != 1 else ''} of this model and term ({people} labeller"
            f"{'s' if people != 1 else ''}): judge {row['judge_version']} accuracy {_num(row['judge_accuracy'])}"
            f" (weighted {_num(row['judge_accuracy_weighted'])}), kappa {_num(row['judge_kappa'])}, "
            f"continue/stop {_num(row['judge_continue_stop_accuracy'])}")


def print_session(console: Console, row: dict[str, Any], patterns: Sequence[dict[str, Any]],
                  judgements: Sequence[dict[str, Any]] = ()) -> None:
    """The session report of ``nyx-collect stats``; with later judgements, each judge's depth."""
    console.print(f"session   {row['session_id']}")
    console.print(f"term      {row['term']}", markup=False)
    console.print(f"model     {row['model_name']}  (temperature {row['temperature']}, top-p {row['top_p']}, "
                  f"max rounds {row['max_rounds']}, seed {row['seed']})", markup=False)
    if row.get("settings"):
        console.print(f"settings  {row['settings']}", markup=False)
    console.print(f"status    {row['status']}   runs {row['runs_stored']} of {row['runs_requested']}"
                  f"{'' if row['is_complete'] else '  (incomplete)'}")
    console.print()
    console.print(depth_histogram(row))
    console.print()
    console.print(f"depth     mean {_num(row['depth_mean'])}  median {_num(row['depth_median'], 1)}  "
                  f"stddev {_num(row['depth_stddev'])}  variance {_num(row['depth_variance'])}")
    console.print(f"          95% CI of the mean [{_num(row['depth_ci95_low'])}, {_num(row['depth_ci95_high'])}]"
                  f"  entropy {_num(row.get('depth_entropy_bits'))} bits")
    console.print(f"chain     length mean {_num(row['chain_length_mean'])}  variance "
                  f"{_num(row['chain_length_variance'])}  stddev {_num(row['chain_length_stddev'])}  "
                  f"rounds mean {_num(row['rounds_mean'])}")
    types = sorted(ECHO_TYPES, key=lambda t: -(row[f"n_{t.lower()}"] or 0))
    shown = ", ".join(f"{t} {row[f'n_{t.lower()}']} ({_num(row[f'share_{t.lower()}'], 2)})"
                      for t in types if row[f"n_{t.lower()}"])
    console.print(f"echo      {shown or '-'}  over {row['rounds_total']} rounds")
    if patterns:
        top = ", ".join(f"{p['echo_pattern']} {_num(p['share'], 2)}" for p in patterns)
        console.print(f"patterns  {top}  (this term under these settings)", markup=False)
    console.print(f"time      {_num(row['duration_s'], 1)} s  {_num(row['runs_per_second'], 2)} runs/s")
    mode = row["judge_mode"] + (" (no reference meaning: weaker)" if row["judge_mode"] == "frame" else "")
    console.print(f"judge     {row['judge_version']}, {mode}, "
                  f"{'stopped at the first break' if row['stop_early'] else 'full chains'}", markup=False)
    agreement = agreement_line(row)
    if agreement:
        console.print(f"labels    {agreement}", markup=False)
    for j in judgements:
        if j["is_original"]:
            continue
        bound = "  (lower bound: rounds after the first break were never generated)" if j["depth_is_lower_bound"] else ""
        newest = "  newest" if j["is_newest"] else ""
        console.print(f"  rejudged {j['judge_version']} ({j['judge_mode']}): depth mean {_num(j['depth_mean'])}  "
                      f"95% CI [{_num(j['depth_ci95_low'])}, {_num(j['depth_ci95_high'])}]{newest}{bound}",
                      markup=False)


def print_analysis(console: Console, found) -> None:
    """The term comparison of ``nyx-collect analyze`` (a runner.TermAnalysis): one row per pool (a
    term under one settings key) with intervals, the tests of each pair of terms under one settings
    key with p-values adjusted for the pairs of the family, each session against its pool's
    baseline, with ``--by`` each term's pools that differ in that part alone, and with human labels
    the judge's agreement."""
    _print_distributions(console, found)
    if found.agreement:
        console.print(_agreement_table(found.agreement))
    if found.comparisons:
        console.print(_pair_table("Pairs of terms under the same settings", found.comparisons, ("term a", "term b")))
        console.print("p: mean depth by Welch's t-test; distribution by chi-square, or exact (Freeman-Halton) where "
                      "expected counts are small; Holm: adjusted for every pair of terms under these settings in the "
                      "marts (Benjamini-Hochberg in --json); intervals 95% (JS: bootstrap)", markup=False)
    if found.by is not None:
        _print_by_part(console, found)
    if found.sessions:
        console.print(_sessions_table(found.sessions))


def _print_distributions(console: Console, found) -> None:
    """One row per pool with its intervals, notes on pools that cannot be compared, then each pool's
    depth histogram and its labels' agreement line."""
    distributions = found.distributions
    table = Table(title="Depth distribution per term and settings (95% intervals)", title_justify="left")
    for name in ("term", "settings", "sessions", "runs", "mean", "95% CI", "d0", "d1", "d2", "d3", "entropy",
                 "95% CI "):
        table.add_column(name, justify="left" if name in ("term", "settings", "95% CI", "95% CI ") else "right")
    for r in distributions:
        table.add_row(r["term"], r["settings"], str(r["sessions"]), str(r["runs"]), _num(r["depth_mean"]),
                      _interval(r["depth_ci95_low"], r["depth_ci95_high"]),
                      *(_num(r[f"share_depth_{d}"], 2) for d in DEPTHS), _num(r["depth_entropy_bits"]),
                      _interval(r["depth_entropy_ci95_low"], r["depth_entropy_ci95_high"]))
    console.print(table)
    if len({r["settings_key"] for r in distributions}) > 1:
        console.print("note: these rows were probed under different settings; rows of different settings are never "
                      "pooled, and terms are paired only under the same settings", markup=False)
    for a, b in found.unpaired:
        console.print(f"note: {a} and {b} share no settings, so the marts do not compare them; collect both under "
                      "the same settings, or compare one term's settings with --by PART", markup=False)
    for r in distributions:
        console.print(f"{r['term']}  ({r['settings']})", markup=False)
        console.print(depth_histogram(r))
        line = agreement_line(r)
        if line:
            console.print(f"  labels: {line}", markup=False)


def _agreement_table(rows: Sequence[dict[str, Any]]) -> Table:
    """The judge against human labels (marts.judge_agreement), one row per term, model, judge and labeller."""
    table = Table(title="The judge against human labels (marts.judge_agreement)", title_justify="left")
    for name in ("term", "model", "judge", "labeller", "labels", "accuracy", "weighted", "kappa", "cont/stop"):
        table.add_column(name, justify="left" if name in ("term", "model", "judge", "labeller") else "right")
    for r in rows:
        table.add_row(r["term"], r["model_name"], r["judge_version"], r["labeller"], str(r["labels"]),
                      _num(r["accuracy"]), _num(r["accuracy_weighted"]), _num(r["kappa"]),
                      _num(r["continue_stop_accuracy"]))
    return table


def _print_by_part(console: Console, found) -> None:
    """With ``--by PART``: each term's pools that differ in that part alone, or a line saying there are none."""
    pools = {r["pool_key"]: r for r in found.distributions}
    if found.settings_pairs:
        console.print(_pair_table(f"Each term by {found.by} (pools that differ in {found.by} alone)",
                                  found.settings_pairs, (f"{found.by} a", f"{found.by} b"),
                                  lambda r: (str(pools.get(r["pool_key_a"], {}).get(found.by, "?")),
                                             str(pools.get(r["pool_key_b"], {}).get(found.by, "?")))))
    else:
        console.print(f"no two pools of {', '.join(sorted({r['term'] for r in found.distributions}))} differ in "
                      f"{found.by} alone", markup=False)


def _sessions_table(rows: Sequence[dict[str, Any]]) -> Table:
    """Each session against its pool's baseline: the difference in mean depth and in distribution."""
    table = Table(title="Sessions against their pool's baseline", title_justify="left")
    for name in ("term", "session", "temp", "runs", "mean", "diff", "p", "Holm", "dist p", "Holm ", "JS div"):
        table.add_column(name, justify="left" if name in ("term", "session") else "right")
    for r in rows:
        session = str(r["session_id"])[:8] + (" (baseline)" if r["is_baseline"] else "")
        table.add_row(r["term"], session, _num(r["temperature"], 2), str(r["runs"]), _num(r["depth_mean"]),
                      _num(r["depth_mean_diff"]), _p(r["depth_mean_p"]), _p(r["depth_mean_p_holm"]),
                      _p(r["depth_distribution_p"]), _p(r["depth_distribution_p_holm"]), _num(r["js_divergence"]))
    return table


def _pair_table(title: str, rows: Sequence[dict[str, Any]], names: tuple[str, str], labels=None) -> Table:
    """Pairs of pools (marts.term_comparison or settings_comparison) with their tests."""
    table = Table(title=title, title_justify="left")
    for name in (*names, "mean diff", "95% CI", "p", "Holm", "JS div", "95% CI ", "dist p", "Holm ", "test"):
        table.add_column(name, justify="left" if name in (*names, "95% CI", "95% CI ", "test") else "right")
    for r in rows:
        a, b = labels(r) if labels else (r["term_a"], r["term_b"])
        table.add_row(a, b, _num(r["depth_mean_diff"]),
                      _interval(r["depth_mean_diff_ci95_low"], r["depth_mean_diff_ci95_high"]),
                      _p(r["depth_mean_p"]), _p(r["depth_mean_p_holm"]), _num(r["js_divergence"]),
                      _interval(r["js_divergence_ci95_low"], r["js_divergence_ci95_high"]),
                      _p(r["depth_distribution_p"]), _p(r["depth_distribution_p_holm"]),
                      "exact" if r["depth_distribution_test"] == "exact"
                      else "chi² (small counts)" if r["small_expected_counts"] else "chi²")
    return table


def print_power(console: Console, rows: Sequence[dict[str, Any]]) -> None:
    """The table of ``nyx-collect power`` (marts.term_power): one line per pool (term and settings):
    runs, mean, variance, the difference detectable now, and the runs per term needed for each difference."""
    differences = sorted({r["difference"] for r in rows})
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["term"], row["pool_key"]), []).append(row)
    console.print("runs per term to detect a difference in mean depth: two-sided, alpha 0.05, power 0.8, normal "
                  "approximation, equal runs per term (for a pair, average the two terms' needs)")
    header = f"{'term':<24} {'runs':>7} {'mean':>6} {'var':>6} {'now':>6}" + "".join(
        f" {'d=' + format(d, 'g'):>8}" for d in differences)
    console.print(header, markup=False)
    for (term, _key), group in groups.items():
        first = group[0]
        by_difference = {r["difference"]: r["runs_needed"] for r in group}
        now = first["detectable_difference"]
        line = (f"{term[:24]:<24} {first['runs']:>7} {_num(first['depth_mean']):>6} "
                f"{_num(first['depth_variance']):>6} {_num(now):>6}" + "".join(f" {_count(by_difference.get(d)):>8}" for d in differences))
        console.print(line, markup=False)
        console.print(f"  settings: {first['settings']}", markup=False)
    console.print("now: the difference detectable at 80% power with the runs collected so far; '-': no variance "
                  "to size from", markup=False)



def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def _span(interval: tuple[float, float] | None) -> str:
    return f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else ""


def print_validation(console: Console, result, show_misses: bool = False) -> None:
    """The agreement of a judge with a labelled set (``nyx-collect validate``), each headline figure with
    its interval where the set has enough terms."""
    from collector.judge.intervals import MIN_TERMS

    a = result.agreement
    modes = ", ".join(f"{n} {mode}" for mode, n in sorted(result.modes.items()))
    console.print(f"judge {result.judge} ({result.encoder}) on {result.file}: {a.n} items ({modes})", markup=False)
    if result.readers:
        r, ra = result.readers, result.readers.agreement
        rows = f"{r.left_out} row{'s' if r.left_out != 1 else ''}"
        kept = (f"left out: {rows} where they disagree (--every-row keeps them, with the first reader's label)"
                if r.left_out else "every row is compared with the first reader's label")
        console.print(f"two readers on {r.rows} rows agree {ra.accuracy:.3f} (kappa {_num(ra.kappa)}), continue/stop "
                      f"{ra.continue_stop_accuracy:.3f} (kappa {_num(ra.continue_stop_kappa)}); {kept}", markup=False)
    iv = result.intervals
    console.print(f"accuracy              {a.accuracy:.3f}{_span(iv and iv.accuracy)}")
    console.print(f"Cohen's kappa         {_num(a.kappa)}{_span(iv and iv.kappa)}")
    console.print(f"continue/stop         {a.continue_stop_accuracy:.3f}{_span(iv and iv.continue_stop_accuracy)}  "
                  f"(kappa {_num(a.continue_stop_kappa)}{_span(iv and iv.continue_stop_kappa)})")
    if iv:
        console.print(f"intervals: {iv.level:.0%}, the set's {iv.terms} terms resampled with replacement "
                      f"{iv.resamples} times (seed {iv.seed}); the rounds of one term are not independent",
                      markup=False)
    else:
        console.print(f"no intervals: {result.terms} term{'s' if result.terms != 1 else ''} (they need "
                      f"{MIN_TERMS} or more, and --resamples above 0)", markup=False)
    classes = Table(title="per class", show_edge=False)
    for column in ("type", "precision", "recall", "F1", "items"):
        classes.add_column(column, justify="left" if column == "type" else "right")
    for label, scores in a.per_class.items():
        classes.add_row(label, _num(scores.precision), _num(scores.recall), _num(scores.f1), str(scores.support))
    console.print(classes)
    matrix = Table(title="confusion (rows: label, columns: judge)", show_edge=False)
    matrix.add_column("label")
    for label in ECHO_TYPES:
        matrix.add_column(label[:4], justify="right")
    for label in ECHO_TYPES:
        matrix.add_row(label, *(str(a.confusion[label][p]) for p in ECHO_TYPES))
    console.print(matrix)
    if show_misses:
        for item, predicted, reason in result.predictions:
            if predicted != item.label:
                text = item.text if len(item.text) <= 100 else item.text[:97] + "..."
                console.print(f"{item.label} -> {predicted}  {item.term}: {text!r}  [{reason}]", markup=False)
