"""The marts against an independent computation from the raw rows (Python is the oracle here)."""

from __future__ import annotations

import math
import statistics
from collections import Counter

import pytest

from tests.cli_helpers import query

# the 97.5% normal quantile (scipy.stats.norm.ppf(0.975)), var z95 of dbt_project.yml
Z95 = 1.959963984540054
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
        assert m["depth_ci95_low"] == pytest.approx(mean - Z95 * sd / math.sqrt(n))
        assert m["depth_ci95_high"] == pytest.approx(mean + Z95 * sd / math.sqrt(n))
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


def _entropy_bits(counts: list[int]) -> float:
    n = sum(counts)
    return -sum(c / n * math.log2(c / n) for c in counts if c)


def test_session_timing_and_round_rows_agree_with_raw(built_db):
    dsn = built_db["dsn"]
    marts = {r["session_id"]: r for r in query(dsn, "select * from marts.session_stats")}
    sessions = query(dsn, "select session_id, started_at, finished_at from raw.probe_sessions")
    for s in sessions:
        m = marts[s["session_id"]]
        duration = (s["finished_at"] - s["started_at"]).total_seconds()
        assert m["duration_s"] == pytest.approx(duration)
        if duration > 0:
            assert m["runs_per_second"] == pytest.approx(m["runs_stored"] / duration)
        else:  # the synthetic sessions start and finish in one statement
            assert m["runs_per_second"] is None
    # collected sessions also have raw.probe_rounds rows: their echo types give the same counts
    rounds = query(dsn, "select session_id, echo_type, count(*) as n from raw.probe_rounds "
                        "group by session_id, echo_type")
    assert rounds, "the collected sessions stored no rounds"
    by_session: dict = {}
    for r in rounds:
        by_session.setdefault(r["session_id"], {})[r["echo_type"]] = r["n"]
    for session_id, counts in by_session.items():
        m = marts[session_id]
        assert m["rounds_total"] == sum(counts.values())
        for t in ECHO_TYPES:
            assert m[f"n_{t.lower()}"] == counts.get(t, 0)


def test_term_depth_distribution_equals_an_independent_computation(built_db):
    dsn = built_db["dsn"]
    runs = query(dsn, 'select term, model_name, session_id, depth, "timestamp" from raw.variance_probe_runs')
    groups: dict = {}
    for r in runs:
        groups.setdefault((r["term"], r["model_name"]), []).append(r)
    rows = query(dsn, "select * from marts.term_depth_distribution")
    assert {(r["term"], r["model_name"]) for r in rows} == set(groups)
    for row in rows:
        group = groups[(row["term"], row["model_name"])]
        depths = [r["depth"] for r in group]
        counts = [depths.count(d) for d in range(4)]
        assert row["sessions"] == len({r["session_id"] for r in group})
        assert row["runs"] == len(depths)
        for d in range(4):
            assert row[f"depth_{d}"] == counts[d]
            assert row[f"share_depth_{d}"] == pytest.approx(counts[d] / len(depths))
        assert row["depth_mean"] == pytest.approx(statistics.mean(depths))
        assert row["depth_variance"] == pytest.approx(statistics.variance(depths))
        assert row["depth_stddev"] == pytest.approx(statistics.stdev(depths))
        assert row["depth_entropy_bits"] == pytest.approx(_entropy_bits(counts), abs=1e-12)
        assert row["first_run_at"] == min(r["timestamp"] for r in group)
        assert row["last_run_at"] == max(r["timestamp"] for r in group)


def test_chain_patterns_and_echo_types_by_round_equal_an_independent_computation(built_db):
    dsn = built_db["dsn"]
    runs = query(dsn, "select term, model_name, echo_types from raw.variance_probe_runs")
    patterns: dict = {}
    by_round: dict = {}
    for r in runs:
        key = (r["term"], r["model_name"])
        patterns.setdefault(key, Counter())[">".join(r["echo_types"])] += 1
        for number, echo_type in enumerate(r["echo_types"], start=1):
            by_round.setdefault((*key, number), Counter())[echo_type] += 1

    rows = query(dsn, "select * from marts.chain_patterns")
    assert len(rows) == sum(len(c) for c in patterns.values())
    for key, counter in patterns.items():
        total = sum(counter.values())
        ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
        mine = {r["echo_pattern"]: r for r in rows if (r["term"], r["model_name"]) == key}
        for rank, (pattern, n) in enumerate(ranked, start=1):
            assert mine[pattern]["runs"] == n
            assert mine[pattern]["share"] == pytest.approx(n / total)
            assert mine[pattern]["pattern_rank"] == rank

    rows = query(dsn, "select * from marts.echo_type_by_round")
    assert len(rows) == sum(len(c) for c in by_round.values())
    for r in rows:
        counter = by_round[(r["term"], r["model_name"], r["round_number"])]
        assert r["rounds"] == counter[r["echo_type"]]
        assert r["share"] == pytest.approx(counter[r["echo_type"]] / sum(counter.values()))


def test_session_comparison_equals_an_independent_computation(built_db):
    dsn = built_db["dsn"]
    hot = built_db["hot_session"]
    row = query(dsn, "select * from marts.session_comparison where session_id = %s", (hot,))[0]
    depths = {sid: [r["depth"] for r in query(dsn, "select depth from raw.variance_probe_runs "
                                                   "where session_id = %s", (sid,))]
              for sid in (hot, row["baseline_session_id"])}
    s, b = depths[hot], depths[row["baseline_session_id"]]
    p = [s.count(d) / len(s) for d in range(4)]
    q = [b.count(d) / len(b) for d in range(4)]
    m = [(x + y) / 2 for x, y in zip(p, q)]
    js = sum(0.5 * x * math.log2(x / z) for x, z in zip(p, m) if x) + \
        sum(0.5 * y * math.log2(y / z) for y, z in zip(q, m) if y)
    se = math.sqrt(statistics.variance(s) / len(s) + statistics.variance(b) / len(b))
    diff = statistics.mean(s) - statistics.mean(b)
    assert row["depth_mean_diff"] == pytest.approx(diff)
    assert row["depth_mean_diff_se"] == pytest.approx(se)
    assert row["z_score"] == pytest.approx(diff / se)
    assert row["js_divergence"] == pytest.approx(js, abs=1e-12)
    assert row["total_variation"] == pytest.approx(sum(abs(x - y) for x, y in zip(p, q)) / 2)


def test_semantic_variance_reaches_session_stats_and_matches_the_stored_embeddings(built_db):
    import os
    from pathlib import Path

    import numpy as np

    from collector.iris.chroma import Iris

    dsn, model = built_db["dsn"], built_db["model_name"]
    rows = query(dsn, "select s.session_id, s.runs_stored, s.semantic_chains, s.semantic_centroid_distance, "
                      "s.semantic_pairwise_distance from marts.session_stats as s "
                      "join raw.session_semantic_variance as v using (session_id)")
    assert len(rows) == 2  # the two sessions collected through the CLI (the synthetic ones have no chains)
    iris = Iris.open(path=Path(os.environ["NYX_HOME"]) / "iris")
    for row in rows:
        assert row["semantic_chains"] == row["runs_stored"]
        ids = [f"{row['session_id']}:{n}" for n in range(1, row["runs_stored"] + 1)]
        vectors = np.array(iris.get(model, ids)["embeddings"], dtype=np.float64)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        centroid = vectors.sum(0) / np.linalg.norm(vectors.sum(0))
        assert row["semantic_centroid_distance"] == pytest.approx(float(np.mean(1 - vectors @ centroid)), abs=1e-5)
        cosines = vectors @ vectors.T
        n = len(vectors)
        pairwise = 1 - (cosines.sum() - np.trace(cosines)) / (n * (n - 1))
        assert row["semantic_pairwise_distance"] == pytest.approx(float(pairwise), abs=1e-5)
