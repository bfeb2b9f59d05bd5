"""The statistics of the marts (tests, p-values, intervals, adjustments) against scipy and
statsmodels, the reference implementations, at small and at large counts.

A database of synthetic sessions with chosen depth counts is built with the real ``dbt build``;
every figure is then recomputed from the same counts by the reference library. dbt's own unit
tests compare floats exactly, so the references live here, with tolerances.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import psycopg
import pytest
from scipy import special, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from tests.cli_helpers import query
from tests.conftest import _unique, create_database, drop_database
from tests.conftest_dbt import insert_synthetic_session
from tests.dbt_helpers import run_dbt
from tests.interval_reference import mean_interval, welch

MODEL = "reference-model"
Z95 = 1.959963984540054
REPLICATES = 1000  # var bootstrap_replicates
SEED = 20261202  # var bootstrap_seed

# depth counts (depth 0..3) per term at temperature 0.8: small tables (expected counts below 5:
# the exact test) and large ones
COUNTS = {
    "small-a": [3, 1, 0, 2],
    "small-b": [1, 4, 2, 0],
    "small-c": [0, 0, 1, 5],
    "large-a": [150, 125, 100, 125],
    "large-b": [175, 130, 95, 100],
    "large-c": [100, 150, 150, 100],
}
HOT = {"large-a": [125, 125, 125, 125]}  # the same term at temperature 1.5: another pool
# later sessions of large-a at 0.8, compared with its baseline (the first session)
LATER = [[40, 30, 10, 20], [20, 25, 25, 30], [25, 25, 25, 25]]


def depths_of(counts: list[int]) -> list[int]:
    return [d for d, c in enumerate(counts) for _ in range(c)]


@pytest.fixture(scope="module")
def stats_db(pg_dsn: str, template_db: str):
    name = _unique("stats")
    dsn = create_database(pg_dsn, name, template=template_db)
    try:
        for term, counts in COUNTS.items():
            insert_synthetic_session(dsn, term, MODEL, 0.8, sum(counts), depths=depths_of(counts),
                                     started_at="2026-01-01 00:00:00+00")
        for term, counts in HOT.items():
            insert_synthetic_session(dsn, term, MODEL, 1.5, sum(counts), depths=depths_of(counts))
        for i, counts in enumerate(LATER):
            insert_synthetic_session(dsn, "large-a", MODEL, 0.8, sum(counts), depths=depths_of(counts),
                                     started_at=f"2026-01-0{i + 2} 00:00:00+00")
        build = run_dbt(dsn, "build")
        assert build.returncode == 0, build.stdout[-6000:] + build.stderr[-2000:]
        yield dsn
    finally:
        drop_database(pg_dsn, name)


def pools(dsn):
    return query(dsn, "select * from marts.term_depth_distribution order by term, temperature")


def comparisons(dsn, mart="term_comparison"):
    return query(dsn, f"select * from marts.{mart} order by term_a, term_b")


def counts_of(row, prefix="depth_"):
    return [row[f"{prefix}{d}"] for d in range(4)]


def test_z95_is_the_normal_quantile():
    assert stats.norm.ppf(0.975) == pytest.approx(Z95, rel=1e-15)


def test_the_functions_match_scipy_over_a_grid(stats_db):
    for x, df in itertools.product([0.0, 0.01, 0.5, 1.0, 3.84, 7.8, 20.0, 60.0, 150.0], [1, 2, 3, 7.5, 40]):
        got = query(stats_db, "select stats.chi2_sf(%s, %s) as p", (x, df))[0]["p"]
        assert got == pytest.approx(stats.chi2.sf(x, df), rel=1e-9, abs=1e-300), (x, df)
    for t, df in itertools.product([0.0, 0.3, 1.0, 2.0, 4.5, 12.0, -3.0], [1.0, 2.5, 9.7, 57.3, 998.0, 1e5]):
        got = query(stats_db, "select stats.t_p_two_sided(%s, %s) as p", (t, df))[0]["p"]
        assert got == pytest.approx(2 * stats.t.sf(abs(t), df), rel=1e-9, abs=1e-300), (t, df)
    for x in [0.1, 0.5, 1.0, 2.5, 10.0, 171.5, 1e4]:
        got = query(stats_db, "select stats.ln_gamma(%s) as g", (x,))[0]["g"]
        assert got == pytest.approx(special.gammaln(x), rel=1e-12, abs=1e-13), x


def test_pools_never_mix_settings(stats_db):
    rows = pools(stats_db)
    assert len(rows) == len(COUNTS) + len(HOT)
    hot = [r for r in rows if r["term"] == "large-a" and r["temperature"] == 1.5]
    cool = [r for r in rows if r["term"] == "large-a" and r["temperature"] == 0.8]
    assert len(hot) == len(cool) == 1
    assert counts_of(hot[0]) == HOT["large-a"]
    assert counts_of(cool[0]) == [sum(c) for c in zip(COUNTS["large-a"], *LATER)]
    assert hot[0]["settings_key"] != cool[0]["settings_key"] and "T=1.5" in hot[0]["settings"]
    # terms are compared only within one settings key: the hot pool pairs with none of them
    pairs = comparisons(stats_db)
    assert len(pairs) == math.comb(len(COUNTS), 2)
    assert {hot[0]["pool_key"]}.isdisjoint({p["pool_key_a"] for p in pairs} | {p["pool_key_b"] for p in pairs})
    # ... and the same term's settings are compared on purpose in settings_comparison
    (by,) = comparisons(stats_db, "settings_comparison")
    assert by["term_a"] == by["term_b"] == "large-a" and by["differs_in"] == ["temperature"]


def test_wilson_and_mean_intervals_match_statsmodels(stats_db):
    for row in pools(stats_db):
        n = row["runs"]
        for d, count in enumerate(counts_of(row)):
            low, high = proportion_confint(count, n, alpha=0.05, method="wilson")
            assert row[f"share_depth_{d}_ci95_low"] == pytest.approx(max(low, 0.0), rel=1e-9, abs=1e-12)
            assert row[f"share_depth_{d}_ci95_high"] == pytest.approx(min(high, 1.0), rel=1e-9, abs=1e-12)
        # the mean's: normal, variance floored, within [0, max_rounds] (tests/interval_reference.py)
        low, high, _half = mean_interval(depths_of(counts_of(row)), row["max_rounds"])
        assert row["depth_ci95_low"] == pytest.approx(low, rel=1e-9, abs=1e-12)
        assert row["depth_ci95_high"] == pytest.approx(high, rel=1e-9, abs=1e-12)


def reference_tests(a: list[int], b: list[int]) -> dict:
    keep = [d for d in range(4) if a[d] + b[d] > 0]
    table = np.array([[a[d] for d in keep], [b[d] for d in keep]])
    chi2, p, dof, expected = stats.chi2_contingency(table, correction=False)
    # Welch's test with each variance floored as for its mean's interval; scipy's plain
    # ttest_ind(equal_var=False) where the floor does not bind (the large tables)
    floored = welch(depths_of(a), depths_of(b))
    plain = stats.ttest_ind(np.array(depths_of(a), float), np.array(depths_of(b), float), equal_var=False)
    return {"chi_square": chi2, "chi_square_p": p, "chi_square_df": dof, "min_expected": expected.min(),
            "welch_p": floored["p"], "plain_welch_p": plain.pvalue, "welch_se": floored["se"],
            "exact_p": exact_reference(a, b) if expected.min() < 5 else None}


def exact_reference(a: list[int], b: list[int]) -> float:
    """Freeman-Halton: the probability, under fixed margins (multivariate hypergeometric), of every
    table no more probable than the observed one."""
    cols = [x + y for x, y in zip(a, b)]
    r = sum(a)
    dist = stats.multivariate_hypergeom(m=cols, n=r)
    tables = [[*xs, r - sum(xs)] for xs in itertools.product(*[range(min(c, r) + 1) for c in cols[:3]])
              if 0 <= r - sum(xs) <= cols[3]]
    probabilities = dist.pmf(np.array(tables))
    return float(probabilities[probabilities <= dist.pmf(a) * (1 + 1e-7)].sum())


def test_pair_tests_match_scipy_at_small_and_large_counts(stats_db):
    rows = {r["pool_key"]: r for r in pools(stats_db)}
    seen = {"exact": 0, "chi-square": 0}
    for pair in comparisons(stats_db):
        a, b = counts_of(rows[pair["pool_key_a"]]), counts_of(rows[pair["pool_key_b"]])
        ref = reference_tests(a, b)
        assert pair["chi_square"] == pytest.approx(ref["chi_square"], rel=1e-9)
        assert pair["chi_square_df"] == ref["chi_square_df"]
        assert pair["chi_square_p"] == pytest.approx(ref["chi_square_p"], rel=1e-8)
        assert pair["min_expected_count"] == pytest.approx(ref["min_expected"], rel=1e-12)
        assert pair["small_expected_counts"] == (ref["min_expected"] < 5)
        if pair["small_expected_counts"]:
            assert pair["depth_distribution_test"] == "exact"
            assert pair["exact_p"] == pytest.approx(ref["exact_p"], rel=1e-8)
            assert pair["depth_distribution_p"] == pair["exact_p"]
        else:
            assert pair["exact_p"] is None and pair["depth_distribution_test"] == "chi-square"
            assert pair["depth_distribution_p"] == pair["chi_square_p"]
        seen[pair["depth_distribution_test"]] += 1
        assert pair["depth_mean_p"] == pytest.approx(ref["welch_p"], rel=1e-8)
        assert pair["depth_mean_diff_se"] == pytest.approx(ref["welch_se"], rel=1e-12)
        if min(sum(a), sum(b)) >= 100:  # the floor (27 / n) is far below these variances
            assert pair["depth_mean_p"] == pytest.approx(ref["plain_welch_p"], rel=1e-8)
        diff = np.mean(depths_of(a)) - np.mean(depths_of(b))
        assert pair["depth_mean_diff"] == pytest.approx(diff, rel=1e-12, abs=1e-12)
    assert seen["exact"] >= 3 and seen["chi-square"] >= 3


def test_holm_and_benjamini_hochberg_match_statsmodels(stats_db):
    families: dict = {}
    for pair in comparisons(stats_db):
        families.setdefault(pair["settings_key_a"], []).append(pair)
    (family,) = families.values()
    assert len(family) == math.comb(len(COUNTS), 2)
    for column in ("depth_distribution_p", "depth_mean_p"):
        ps = [p[column] for p in family]
        holm = multipletests(ps, alpha=0.05, method="holm")[1]
        bh = multipletests(ps, alpha=0.05, method="fdr_bh")[1]
        for pair, h, f in zip(family, holm, bh):
            assert pair[f"{column}_holm"] == pytest.approx(h, rel=1e-12)
            assert pair[f"{column}_bh"] == pytest.approx(f, rel=1e-12)
            assert pair["family_size"] == len(family)


def test_session_comparison_against_the_pool_baseline_matches_scipy(stats_db):
    rows = query(stats_db, """select * from marts.session_comparison
                              where term = 'large-a' and temperature = 0.8 order by started_at""")
    baseline, *later = rows
    assert baseline["is_baseline"] and baseline["depth_mean_p"] is None
    assert [r["baseline_session_id"] for r in later] == [baseline["session_id"]] * len(LATER)
    ps, mean_ps = [], []
    for row, counts in zip(later, LATER):
        ref = reference_tests(counts, COUNTS["large-a"])
        assert row["chi_square_p"] == pytest.approx(ref["chi_square_p"], rel=1e-8)
        assert row["depth_mean_p"] == pytest.approx(ref["welch_p"], rel=1e-8)
        ps.append(row["depth_distribution_p"])
        mean_ps.append(row["depth_mean_p"])
    for row, h, f in zip(later, multipletests(ps, method="holm")[1], multipletests(ps, method="fdr_bh")[1]):
        assert row["depth_distribution_p_holm"] == pytest.approx(h, rel=1e-12)
        assert row["depth_distribution_p_bh"] == pytest.approx(f, rel=1e-12)
    hot = query(stats_db, "select * from marts.session_comparison where temperature = 1.5")
    assert len(hot) == 1 and hot[0]["is_baseline"]  # its own pool, not compared with the 0.8 baseline


def resamples(dsn, row) -> np.ndarray:
    """The bootstrap's depth counts per replicate, recomputed in numpy from the uniform numbers of
    the documented generator (hashint8extended, which is PostgreSQL's own)."""
    n = row["runs"]
    u = query(dsn, f"""select replicate, draw, (hashint8extended(draw::bigint, hashint8extended(replicate::bigint,
                           {SEED}::bigint + hashtext(%s))) & 9007199254740991)::double precision
                           / 9007199254740992.0 as u
                       from generate_series(1, {REPLICATES}) as replicate, generate_series(1, %s) as draw
                       order by replicate, draw""", (row["pool_key"], n))
    sorted_runs = np.array(depths_of(counts_of(row)))
    draws = sorted_runs[np.floor(np.array([x["u"] for x in u]) * n).astype(int)].reshape(REPLICATES, n)
    return np.stack([(draws == d).sum(axis=1) for d in range(4)], axis=1) / n


def entropy_bits(p: np.ndarray) -> np.ndarray:
    return -np.sum(np.where(p > 0, p * np.log2(np.where(p > 0, p, 1)), 0.0), axis=-1)


def test_bootstrap_intervals_follow_their_procedure_and_agree_with_scipy(stats_db):
    rows = {r["term"]: r for r in pools(stats_db) if r["temperature"] == 0.8}
    small, large = rows["small-a"], rows["large-b"]
    for row in (small, large):
        shares = resamples(stats_db, row)
        ent = entropy_bits(shares)
        assert row["depth_entropy_ci95_low"] == pytest.approx(np.percentile(ent, 2.5), rel=1e-9)
        assert row["depth_entropy_ci95_high"] == pytest.approx(np.percentile(ent, 97.5), rel=1e-9)
        # another generator (scipy's percentile bootstrap) lands close: Monte Carlo error only
        x = np.array(depths_of(counts_of(row)))
        ref = stats.bootstrap((x,), lambda s, axis: entropy_bits(
            np.stack([(s == d).mean(axis=axis) for d in range(4)], axis=-1)), method="percentile",
            n_resamples=4000, random_state=np.random.default_rng(0), vectorized=True).confidence_interval
        width = ref.high - ref.low
        assert abs(row["depth_entropy_ci95_low"] - ref.low) < 0.15 * width
        assert abs(row["depth_entropy_ci95_high"] - ref.high) < 0.15 * width
    (pair,) = [p for p in comparisons(stats_db) if {p["term_a"], p["term_b"]} == {"large-a", "large-b"}]
    a, b = rows[pair["term_a"]], rows[pair["term_b"]]
    pa, pb = resamples(stats_db, a), resamples(stats_db, b)
    m = (pa + pb) / 2
    js = 0.5 * np.sum(np.where(pa > 0, pa * np.log2(np.where(pa > 0, pa, 1) / np.where(m > 0, m, 1)), 0), axis=1) \
        + 0.5 * np.sum(np.where(pb > 0, pb * np.log2(np.where(pb > 0, pb, 1) / np.where(m > 0, m, 1)), 0), axis=1)
    assert pair["js_divergence_ci95_low"] == pytest.approx(np.percentile(js, 2.5), rel=1e-8)
    assert pair["js_divergence_ci95_high"] == pytest.approx(np.percentile(js, 97.5), rel=1e-8)
    assert pair["js_divergence_ci95_low"] <= pair["js_divergence"] <= pair["js_divergence_ci95_high"] + 0.05


def test_a_build_draws_the_same_resamples(stats_db):
    before = query(stats_db, "select pool_key, depth_entropy_ci95_low, depth_entropy_ci95_high "
                             "from marts.term_depth_distribution order by pool_key")
    build = run_dbt(stats_db, "run", "--select", "int_depth_bootstrap+")
    assert build.returncode == 0, build.stdout[-3000:]
    after = query(stats_db, "select pool_key, depth_entropy_ci95_low, depth_entropy_ci95_high "
                            "from marts.term_depth_distribution order by pool_key")
    assert before == after


def test_functions_survive_a_second_build_and_are_not_replaced(stats_db):
    with psycopg.connect(stats_db) as conn:
        oids = conn.execute("select p.oid from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
                            "where n.nspname = 'stats' order by p.oid").fetchall()
    build = run_dbt(stats_db, "run", "--select", "int_session_settings")
    assert build.returncode == 0
    with psycopg.connect(stats_db) as conn:
        again = conn.execute("select p.oid from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
                             "where n.nspname = 'stats' order by p.oid").fetchall()
    # 7 from the on-run-start hook, 6 from migration 0014 (the interval of a mean depth)
    assert oids == again and len(oids) == 13


def test_new_runs_redraw_only_their_pools_resamples(stats_db):
    signature = "select pool_key, drawn_from, count(*) as n from intermediate.int_depth_bootstrap group by 1, 2"
    before = {r["pool_key"]: r for r in query(stats_db, signature)}
    insert_synthetic_session(stats_db, "small-c", MODEL, 0.8, 4, depths=[0, 1, 2, 3],
                             started_at="2026-01-05 00:00:00+00")
    build = run_dbt(stats_db, "run")
    assert build.returncode == 0, build.stdout[-3000:]
    after = {r["pool_key"]: r for r in query(stats_db, signature)}
    (pool,) = query(stats_db, "select pool_key, runs from marts.term_depth_distribution where term = 'small-c'")
    assert pool["runs"] == sum(COUNTS["small-c"]) + 4
    assert after[pool["pool_key"]]["drawn_from"] != before[pool["pool_key"]]["drawn_from"]
    assert all(r["n"] == REPLICATES for r in after.values())  # the old resamples were replaced, not added to
    assert {k: v for k, v in after.items() if k != pool["pool_key"]} == \
        {k: v for k, v in before.items() if k != pool["pool_key"]}
