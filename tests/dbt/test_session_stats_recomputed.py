"""The marts against an independent computation from the raw rows (Python is the oracle here)."""

from __future__ import annotations

import math
import statistics
from collections import Counter

import pytest

from tests.cli_helpers import query

ECHO_TYPES = ("EXPANDS", "CONFIRMS", "CIRCULAR", "DIVERGENT", "COLLAPSE")


def runs_by_session(dsn):
    grouped: dict = {}
    for row in query(dsn, "select session_id, depth, rounds, echo_types, chain from raw.variance_probe_runs"):
        grouped.setdefault(row["session_id"], []).append(row)
    return grouped


def test_dbt_build_ran_every_kind_of_test(built_db):
    out = built_db["build_output"]
    assert "ERROR=0" in out
    for fragment in ("unit_test", "session_stats_depth_distribution_and_ci", "transition_probabilities_sum_to_one"):
        assert fragment in out


def test_session_stats_equal_an_independent_computation(built_db):
    dsn = built_db["dsn"]
    marts = {r["session_id"]: r for r in query(dsn, "select * from marts.session_stats")}
    raw = runs_by_session(dsn)
    assert len(marts) == 4 and set(raw) <= set(marts)
    for session_id, runs in raw.items():
        m = marts[session_id]
        depths = [r["depth"] for r in runs]
        n = len(depths)
        assert m["runs_stored"] == n
        counts = Counter(depths)
        for d in range(4):
            assert m[f"depth_{d}"] == counts.get(d, 0)
            assert m[f"share_depth_{d}"] == pytest.approx(counts.get(d, 0) / n)
        mean, sd = statistics.mean(depths), statistics.stdev(depths)
        assert m["depth_mean"] == pytest.approx(mean)
        assert m["depth_median"] == pytest.approx(statistics.median(depths))
        assert m["depth_variance"] == pytest.approx(statistics.variance(depths))
        assert m["depth_stddev"] == pytest.approx(sd)
        assert m["depth_ci95_low"] == pytest.approx(mean - 1.96 * sd / math.sqrt(n))
        assert m["depth_ci95_high"] == pytest.approx(mean + 1.96 * sd / math.sqrt(n))
        types = Counter(t for r in runs for t in r["echo_types"])
        total = sum(types.values())
        assert m["rounds_total"] == total
        for t in ECHO_TYPES:
            assert m[f"n_{t.lower()}"] == types.get(t, 0)
            assert m[f"share_{t.lower()}"] == pytest.approx(types.get(t, 0) / total)
        top = max(ECHO_TYPES, key=lambda t: (types.get(t, 0), -ECHO_TYPES.index(t)))
        assert m["most_common_echo_type"] == top
        lengths = [len(r["chain"]) for r in runs]
        assert m["chain_length_mean"] == pytest.approx(statistics.mean(lengths))
        assert m["chain_length_variance"] == pytest.approx(statistics.variance(lengths))
        assert m["chain_length_stddev"] == pytest.approx(statistics.stdev(lengths))
        assert m["rounds_mean"] == pytest.approx(statistics.mean(r["rounds"] for r in runs))
        assert m["is_complete"] is (n == m["runs_requested"])


def _distribution(dsn, term, model):
    depths = [r["depth"] for r in query(dsn, "select depth from raw.variance_probe_runs where term = %s "
                                              "and model_name = %s", (term, model))]
    return [depths.count(d) for d in range(4)]


def test_term_comparison_equals_an_independent_computation(built_db):
    dsn, model = built_db["dsn"], built_db["model_name"]
    rows = query(dsn, "select * from marts.term_comparison where model_name = %s order by term_a, term_b", (model,))
    assert len(rows) == 3  # three terms with the same model: three pairs
    for row in rows:
        a, b = _distribution(dsn, row["term_a"], model), _distribution(dsn, row["term_b"], model)
        na, nb = sum(a), sum(b)
        p, q = [x / na for x in a], [x / nb for x in b]
        m = [(x + y) / 2 for x, y in zip(p, q)]
        kl = lambda u: sum(x * math.log2(x / y) for x, y in zip(u, m) if x > 0)  # noqa: E731
        assert row["js_divergence"] == pytest.approx((kl(p) + kl(q)) / 2, abs=1e-12)
        assert row["total_variation"] == pytest.approx(sum(abs(x - y) for x, y in zip(p, q)) / 2)
        chi, columns = 0.0, 0
        for x, y in zip(a, b):
            if x + y == 0:
                continue
            columns += 1
            for observed, total in ((x, na), (y, nb)):
                expected = total * (x + y) / (na + nb)
                chi += (observed - expected) ** 2 / expected
        assert row["chi_square"] == pytest.approx(chi)
        assert row["chi_square_df"] == columns - 1
        depths_a = [d for d in range(4) for _ in range(a[d])]
        depths_b = [d for d in range(4) for _ in range(b[d])]
        se = math.sqrt(statistics.variance(depths_a) / na + statistics.variance(depths_b) / nb)
        assert row["depth_mean_diff"] == pytest.approx(statistics.mean(depths_a) - statistics.mean(depths_b))
        assert row["depth_mean_diff_se"] == pytest.approx(se)


def test_transition_probabilities_equal_an_independent_computation(built_db):
    dsn, model = built_db["dsn"], built_db["model_name"]
    runs = query(dsn, "select echo_types from raw.variance_probe_runs where term = %s", ("Synthese",))
    pairs = Counter((r["echo_types"][i], r["echo_types"][i + 1]) for r in runs for i in range(len(r["echo_types"]) - 1))
    out_of = Counter()
    for (first, _), n in pairs.items():
        out_of[first] += n
    rows = query(dsn, "select * from marts.echo_type_transitions where term = %s and model_name = %s",
                 ("Synthese", model))
    assert {(r["from_echo_type"], r["to_echo_type"]) for r in rows} == set(pairs)
    for r in rows:
        key = (r["from_echo_type"], r["to_echo_type"])
        assert r["transitions"] == pairs[key]
        assert r["probability"] == pytest.approx(pairs[key] / out_of[key[0]])


def test_session_comparison_names_the_earliest_session_as_baseline(built_db):
    dsn = built_db["dsn"]
    rows = query(dsn, "select * from marts.session_comparison where term = 'Aufhebung' order by started_at")
    assert len(rows) == 2
    baseline, hot = rows
    assert baseline["is_baseline"] and baseline["depth_mean_diff"] == 0
    assert hot["session_id"] == built_db["hot_session"] and not hot["is_baseline"]
    assert hot["baseline_session_id"] == baseline["session_id"]
    assert hot["depth_mean_diff"] == pytest.approx(hot["depth_mean"] - baseline["depth_mean"])
