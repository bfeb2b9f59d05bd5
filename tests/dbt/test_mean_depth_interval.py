"""The 95% interval of a mean depth (docs/statistics.md, "Intervals"; issue 20, "intervals that a
reader can trust"): one definition, stats.depth_mean_ci_low/high (migrations 0014, 0016), used by every mart
that reports a mean depth, by `stats` and `analyze` (which print the marts) and by --until-ci. It
never leaves [0, max_rounds], never shrinks to a point when every run has one depth, keeps its
coverage in a simulation, and matches the scipy reference (tests/interval_reference.py).

The function tests need only a migrated database: the collector has the function without dbt."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from collector.db.store import Store
from tests.cli_helpers import query, run_cli
from tests.conftest import _unique, create_database, drop_database
from tests.conftest_dbt import insert_synthetic_session
from tests.dbt_helpers import run_dbt
from tests.interval_reference import floored_variance, mean_interval, sample_variance, welch

Z95 = 1.959963984540054


def depths_of(counts) -> list[int]:
    return [d for d, c in enumerate(counts) for _ in range(c)]


def intervals(dsn: str, rows: list[tuple[float | None, float | None, int, int]]) -> list[dict]:
    """stats.depth_mean_ci_low/high and the half-width at z95 for (mean, variance, n, max_rounds) rows, in order."""
    means, variances, ns, tops = (list(x) for x in zip(*rows))
    return query(dsn, """
        select stats.depth_mean_ci_low(m, v, n, r, %(z)s) as low, stats.depth_mean_ci_high(m, v, n, r, %(z)s) as high,
               stats.depth_mean_ci_half_width(v, n, r, %(z)s) as half
        from unnest(%(m)s::float8[], %(v)s::float8[], %(n)s::int8[], %(r)s::float8[]) with ordinality as t(m, v, n, r, i)
        order by i""", {"m": means, "v": variances, "n": ns, "r": tops, "z": Z95})


def count_vectors(max_rounds: int, max_n: int):
    """Every vector of depth counts (depth 0..max_rounds) with 1 to max_n runs."""
    for n in range(1, max_n + 1):
        for cut in itertools.combinations(range(n + max_rounds), max_rounds):
            bounds = (-1, *cut, n + max_rounds)
            yield [bounds[i + 1] - bounds[i] - 1 for i in range(max_rounds + 1)]


LARGE = [[150, 125, 100, 125], [990, 5, 3, 2], [0, 0, 0, 20000], [19990, 10, 0, 0], [98, 0, 2, 0],
         [40, 0, 0, 0], [1, 0, 0, 29], [3, 1, 0, 2]]


def test_the_function_matches_the_scipy_reference_and_stays_in_range(db_dsn):
    samples = [(r, c) for r in (1, 2, 3) for c in count_vectors(r, 12 if r == 3 else 20)]
    samples += [(3, c) for c in LARGE]
    rows = []
    for r, counts in samples:
        depths = depths_of(counts)
        rows.append((sum(depths) / len(depths), sample_variance(depths), len(depths), r))
    got = intervals(db_dsn, rows)
    for (r, counts), (mean, _v, n, _r), row in zip(samples, rows, got):
        low, high, half = mean_interval(depths_of(counts), r)
        assert row["low"] == pytest.approx(low, abs=1e-12), (r, counts)
        assert row["high"] == pytest.approx(high, abs=1e-12), (r, counts)
        assert row["half"] == pytest.approx(half, rel=1e-12), (r, counts)
        # inside [0, max_rounds], around the mean, never a point
        assert 0.0 <= row["low"] <= mean <= row["high"] <= r, (r, counts)
        assert row["high"] - row["low"] > 0, (r, counts)
    assert len(got) > 2000


def test_runs_of_one_depth_get_a_width_from_the_floor(db_dsn):
    # 8 runs all at depth 0: the depth-0 share's Wilson interval is [0.676, 1], so up to a third of
    # the runs may lie deeper; the mean's interval was [0, 0]. Now the floor 9 * min(3/8, 1/4) = 9/4.
    all_zero, all_three, forty_zero = intervals(db_dsn, [(0.0, 0.0, 8, 3), (3.0, 0.0, 8, 3), (0.0, 0.0, 40, 3)])
    half = Z95 * math.sqrt(2.25 / 8)
    assert (all_zero["low"], all_zero["high"]) == (0.0, pytest.approx(half, rel=1e-15))
    assert (all_three["low"], all_three["high"]) == (pytest.approx(3.0 - half, rel=1e-15), 3.0)
    # at 40 runs the rule of three binds: 27 / 40
    assert forty_zero["half"] == pytest.approx(Z95 * math.sqrt(27 / 40 / 40), rel=1e-15)
    assert forty_zero["high"] == pytest.approx(0.2547, abs=1e-4)


def test_the_demo_mean_no_longer_goes_below_zero(db_dsn):
    # `make demo` printed "95% CI of the mean [-0.015, 0.095]": 100 runs, 98 at depth 0 and 2 at depth 2
    depths = depths_of([98, 0, 2, 0])
    (row,) = intervals(db_dsn, [(0.04, sample_variance(depths), 100, 3)])
    old_low = 0.04 - Z95 * math.sqrt(sample_variance(depths) / 100)
    assert f"{old_low:.3f}" == "-0.015"
    assert row["low"] == 0.0 and row["high"] == pytest.approx(0.04 + Z95 * math.sqrt(0.27 / 100), rel=1e-14)


def test_a_single_run_two_runs_and_none(db_dsn):
    got = intervals(db_dsn, [(0.0, None, 1, 3), (3.0, None, 1, 3), (1.0, None, 1, 1), (1.5, 4.5, 2, 3),
                             (1.0, 0.0, 2, 3), (None, None, 0, 3), (1.0, 0.0, 4, None)])
    one = Z95 * 1.5  # one run: the floor is the largest variance on [0, 3], 9/4
    assert (got[0]["low"], got[0]["high"]) == (0.0, pytest.approx(one, rel=1e-15))
    assert (got[1]["low"], got[1]["high"]) == (pytest.approx(3.0 - one, rel=1e-15), 3.0)
    assert (got[2]["low"], got[2]["high"]) == (pytest.approx(1.0 - Z95 * 0.5, rel=1e-15), 1.0)
    assert (got[3]["low"], got[3]["high"]) == (0.0, 3.0)  # depths 0 and 3: s^2 = 4.5 > 9/4
    assert (got[4]["low"], got[4]["high"]) == (0.0, 3.0)  # depths 1 and 1: 1 -/+ 2.08
    assert got[5] == {"low": None, "high": None, "half": None}  # no runs
    assert got[6] == {"low": None, "high": None, "half": None}  # no round limit, no bound


def test_the_stopping_benchmark_simulates_the_same_half_width(db_dsn):
    # bench/stopping_coverage.py replays --until-ci in numpy (vectorised over repetitions): pinned here
    from bench.stopping_coverage import half_width

    grid = [(v, n) for n in (2, 3, 5, 11, 12, 13, 100, 128, 1000, 20000) for v in (0.0, 0.01, 0.3, 1.1, 2.5)]
    got = intervals(db_dsn, [(1.0, v, n, 3) for v, n in grid])
    for (v, n), row in zip(grid, got):
        assert float(half_width(np.array([v]), n)[0]) == pytest.approx(row["half"], rel=1e-14), (v, n)


# depth shares (0..3) for the coverage simulation: the research terms' kind, the extremes of
# variance, and distributions that put almost every run at one depth (where the plain normal
# interval is [0, 0] most of the time); "edge" puts 3.4/n of the runs at depth 3, just above what
# the rule of three leaves room for, its worst case
SHARES = {
    "deep term": (0.08, 0.14, 0.33, 0.45),
    "uniform": (0.25, 0.25, 0.25, 0.25),
    "two ends": (0.5, 0.0, 0.0, 0.5),
    "shallow": (0.9, 0.1, 0.0, 0.0),
    "nearly all 0": (0.995, 0.0, 0.0, 0.005),
    "nearly all 3": (0.002, 0.0, 0.008, 0.99),
    "edge": None,
}
RUNS = (1, 2, 3, 5, 8, 12, 20, 50, 100, 400)
REPS = 4000


def test_coverage_in_a_simulation_with_a_fixed_seed(db_dsn):
    rng = np.random.default_rng(20261205)
    cases, keys = [], {}
    for name, n in itertools.product(SHARES, RUNS):
        p = np.array(SHARES[name] or (1 - min(3.4 / n, 0.5), 0, 0, min(3.4 / n, 0.5)))
        counts = rng.multinomial(n, p, size=REPS)
        sums, squares = counts @ np.arange(4), counts @ np.arange(4) ** 2
        cases.append((name, n, float(p @ np.arange(4)), sums, squares))
        keys.update({(n, int(s), int(q)): None for s, q in zip(sums, squares)})
    order = list(keys)
    rows = [(s / n, (n * q - s * s) / (n * (n - 1)) if n > 1 else None, n, 3) for n, s, q in order]
    got = dict(zip(order, intervals(db_dsn, rows)))
    worst, plain_nearly_zero = 1.0, None
    for name, n, true_mean, sums, squares in cases:
        rows = [got[(n, int(s), int(q))] for s, q in zip(sums, squares)]
        covered = np.mean([r["low"] <= true_mean <= r["high"] for r in rows])
        # 92.97% exactly for "two ends" at 8 runs (it misses at 1 or 7 runs of depth 3); 93.1% drawn here
        assert covered >= 0.92, (name, n, covered)
        worst = min(worst, covered)
        if name == "nearly all 0" and n == 100:
            # the old interval, mean -/+ z * s / sqrt(n), on the same samples
            mean = sums / n
            s = np.sqrt(np.maximum((n * squares - sums * sums) / (n * (n - 1)), 0.0))
            plain_nearly_zero = np.mean(np.abs(mean - true_mean) <= Z95 * s / math.sqrt(n))
    assert plain_nearly_zero < 0.5  # the simulation tells them apart: [0, 0] most of the time
    assert worst < 0.999  # and it is not trivially wide everywhere


# --- the marts, `stats`, `analyze` and --until-ci on one built database --------------------------

MODEL = "interval-model"
TERMS = {  # depth counts per term, one session each, temperature 0.8
    "all-zero": [8, 0, 0, 0],
    "all-zero-b": [8, 0, 0, 0],
    "all-three": [0, 0, 0, 8],
    "single": [0, 0, 1, 0],
    "two": [1, 0, 0, 1],
    "demo": [98, 0, 2, 0],
}
LATER_DEMO = [100, 0, 0, 0]  # a second session of "demo": compared with its baseline
HOT_ZERO = [6, 0, 0, 0]  # "all-zero" at temperature 1.5: another pool of the same term
# the pools at temperature 0.8: each term's session, and demo's two
POOLS = {term: [x + y for x, y in zip(counts, LATER_DEMO)] if term == "demo" else counts
         for term, counts in TERMS.items()}


@pytest.fixture(scope="module")
def interval_db(pg_dsn: str, template_db: str):
    name = _unique("intervals")
    dsn = create_database(pg_dsn, name, template=template_db)
    try:
        sessions = {}
        for term, counts in TERMS.items():
            sessions[term] = insert_synthetic_session(dsn, term, MODEL, 0.8, sum(counts), depths=depths_of(counts),
                                                      started_at="2026-01-01 00:00:00+00")
        sessions["demo-later"] = insert_synthetic_session(dsn, "demo", MODEL, 0.8, sum(LATER_DEMO),
                                                          depths=depths_of(LATER_DEMO),
                                                          started_at="2026-01-02 00:00:00+00")
        sessions["hot-zero"] = insert_synthetic_session(dsn, "all-zero", MODEL, 1.5, sum(HOT_ZERO),
                                                        depths=depths_of(HOT_ZERO))
        build = run_dbt(dsn, "build")  # the unit and data tests included
        assert build.returncode == 0, build.stdout[-6000:] + build.stderr[-2000:]
        yield {"dsn": dsn, "sessions": sessions}
    finally:
        drop_database(pg_dsn, name)


def raw_depths(dsn, session_id) -> list[int]:
    return [r["depth"] for r in query(dsn, "select depth from raw.variance_probe_runs where session_id = %s "
                                           "order by run_number", (session_id,))]


def test_every_mart_reports_the_one_interval(interval_db):
    dsn, sessions = interval_db["dsn"], interval_db["sessions"]
    stats_rows = {r["session_id"]: r for r in query(dsn, "select * from marts.session_stats")}
    judged = {r["session_id"]: r for r in query(dsn, "select * from marts.session_judgements where is_original")}
    for sid in sessions.values():
        low, high, _half = mean_interval(raw_depths(dsn, sid), 3)
        for row in (stats_rows[sid], judged[sid]):
            assert row["depth_ci95_low"] == pytest.approx(low, abs=1e-12)
            assert row["depth_ci95_high"] == pytest.approx(high, abs=1e-12)
    zero = stats_rows[sessions["all-zero"]]
    assert zero["share_depth_0_ci95_low"] == pytest.approx(0.676, abs=1e-3)  # the example
    assert (zero["depth_ci95_low"], round(zero["depth_ci95_high"], 3)) == (0.0, 1.039)  # was [0, 0]
    single = stats_rows[sessions["single"]]
    assert (single["depth_ci95_low"], single["depth_ci95_high"]) == (0.0, 3.0)  # was NULL
    for pool in query(dsn, "select * from marts.term_depth_distribution"):
        group = query(dsn, "select r.depth from raw.variance_probe_runs as r join raw.probe_sessions as s "
                           "using (session_id) where s.term = %s and s.temperature = %s",
                      (pool["term"], pool["temperature"]))
        low, high, _half = mean_interval([r["depth"] for r in group], 3)
        assert pool["depth_ci95_low"] == pytest.approx(low, abs=1e-12)
        assert pool["depth_ci95_high"] == pytest.approx(high, abs=1e-12)
        assert 0.0 <= pool["depth_ci95_low"] < pool["depth_ci95_high"] <= 3.0
    # the mart that Grafana reads carries the same
    for row in query(dsn, "select d.depth_ci95_low as g_low, d.depth_ci95_high as g_high, t.depth_ci95_low, "
                          "t.depth_ci95_high from grafana.depth_intervals as d join marts.term_depth_distribution "
                          "as t using (pool_key)"):
        assert (row["g_low"], row["g_high"]) == (row["depth_ci95_low"], row["depth_ci95_high"])


def test_two_terms_without_spread_get_a_welch_test_and_a_real_interval(interval_db):
    dsn = interval_db["dsn"]
    pairs = {(r["term_a"], r["term_b"]): r for r in query(dsn, "select * from marts.term_comparison")}
    assert len(pairs) == math.comb(len(TERMS), 2)
    for (a, b), row in pairs.items():
        ref = welch(depths_of(POOLS[a]), depths_of(POOLS[b]))
        assert row["depth_mean_diff"] == pytest.approx(ref["diff"], abs=1e-12)
        if "single" in (a, b):  # one run: no variance, so no t-test and no interval (as before)
            assert [row[c] for c in ("depth_mean_diff_se", "depth_mean_p", "depth_mean_diff_ci95_low")] == [None] * 3
            continue
        assert row["depth_mean_diff_se"] == pytest.approx(ref["se"], rel=1e-12), (a, b)
        assert row["depth_mean_welch_df"] == pytest.approx(ref["df"], rel=1e-12), (a, b)
        assert row["depth_mean_diff_ci95_low"] == pytest.approx(ref["low"], abs=1e-12), (a, b)
        assert row["depth_mean_diff_ci95_high"] == pytest.approx(ref["high"], abs=1e-12), (a, b)
        assert row["depth_mean_p"] == pytest.approx(ref["p"], rel=1e-8), (a, b)
        low, high = row["depth_mean_diff_ci95_low"], row["depth_mean_diff_ci95_high"]
        assert -3.0 <= low <= row["depth_mean_diff"] <= high <= 3.0 and low < high, (a, b)
    same = pairs[("all-zero", "all-zero-b")]  # was p = 1.000 with CI [0, 0]
    assert same["depth_mean_p"] == 1.0 and same["depth_mean_diff"] == 0.0
    assert same["depth_mean_diff_ci95_high"] == -same["depth_mean_diff_ci95_low"] == pytest.approx(Z95 * 0.75)
    apart = pairs[("all-three", "all-zero")]  # was p NULL with CI [3, 3]
    assert apart["depth_mean_diff_ci95_high"] == 3.0 and apart["depth_mean_p"] < 0.01
    # a term against itself at another temperature, and a session against its pool's baseline
    (by,) = query(dsn, "select * from marts.settings_comparison")
    cool, hot = depths_of(TERMS["all-zero"]), depths_of(HOT_ZERO)
    ref = welch(cool, hot) if by["runs_a"] == len(cool) else welch(hot, cool)
    assert (by["depth_mean_diff_se"], by["depth_mean_p"]) == (pytest.approx(ref["se"], rel=1e-12), 1.0)
    assert by["depth_mean_diff_ci95_low"] == pytest.approx(ref["low"], abs=1e-12)
    later = query(dsn, "select * from marts.session_comparison where session_id = %s",
                  (interval_db["sessions"]["demo-later"],))[0]
    ref = welch(depths_of(LATER_DEMO), depths_of(TERMS["demo"]))
    assert later["depth_mean_diff_se"] == pytest.approx(ref["se"], rel=1e-12)
    assert later["depth_mean_p"] == pytest.approx(ref["p"], rel=1e-8)


def test_stats_and_analyze_print_the_marts_interval(capsys, interval_db):
    dsn, sid = interval_db["dsn"], str(interval_db["sessions"]["all-zero"])
    result = run_cli(capsys, "stats", sid, "--dsn", dsn)
    assert result.code == 0, result.err
    assert "95% CI of the mean [0.000, 1.039]" in result.out
    result = run_cli(capsys, "analyze", "all-zero", "all-zero-b", "--dsn", dsn)
    assert result.code == 0, result.err
    assert "[0.000, 1.039]" in result.out and "[-1.470, 1.470]" in result.out
    shown = json.loads(run_cli(capsys, "analyze", "all-zero", "all-zero-b", "--dsn", dsn, "--json").out)
    assert {round(d["depth_ci95_high"], 3) for d in shown["distributions"]} == {1.039, 1.200}  # 8 runs; 6 at 1.5


def test_until_ci_reads_the_same_function(interval_db):
    dsn = interval_db["dsn"]
    marts = {r["session_id"]: r for r in query(dsn, "select * from marts.session_stats")}
    with Store.connect(dsn) as store:
        for name, sid in interval_db["sessions"].items():
            row = store.depth_precision(sid)
            depths = raw_depths(dsn, sid)
            low, high, half = mean_interval(depths, 3)
            assert row["variance_floor"] == pytest.approx(floored_variance(None, len(depths), 3), rel=1e-15)
            if len(depths) < 2:
                assert row["half_width"] is None  # --until-ci needs two runs (--min-runs >= 2)
                continue
            assert row["half_width"] == pytest.approx(half, rel=1e-12), name
            mart = marts[sid]
            assert mart["depth_ci95_low"] == pytest.approx(max(0.0, row["mean"] - row["half_width"]), abs=1e-12)
            assert mart["depth_ci95_high"] == pytest.approx(min(3.0, row["mean"] + row["half_width"]), abs=1e-12)
