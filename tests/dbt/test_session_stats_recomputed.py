"""The marts against an independent computation from the raw rows (Python is the oracle here)."""

from __future__ import annotations

import math
import statistics
from collections import Counter

import pytest

from tests.cli_helpers import query
from tests.interval_reference import mean_interval, welch

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
        low, high, _half = mean_interval(depths, m["max_rounds"])
        assert m["depth_ci95_low"] == pytest.approx(low, abs=1e-12)
        assert m["depth_ci95_high"] == pytest.approx(high, abs=1e-12)
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


# what a session's settings key is made of (dbt var settings_parts); a pool adds the term and the
# reference meaning. Recomputed here from raw.probe_sessions, independently of int_session_settings.
SETTINGS = ("model_name", "model_revision", "backend", "prompt_template", "temperature", "top_p", "top_k",
            "max_rounds", "max_new_tokens", "stop_early", "judge_version", "judge_mode", "encoder")


def pools_of(dsn) -> dict:
    """session_id -> (settings tuple, pool tuple), from the raw sessions."""
    sessions = query(dsn, "select * from raw.probe_sessions")
    out = {}
    for s in sessions:
        settings = tuple(s[c] for c in SETTINGS)
        out[s["session_id"]] = (settings, (s["term"], settings, s["glossary_id"]))
    return out


def runs_of_pools(dsn) -> dict:
    """pool tuple -> its runs (term, session_id, depth, timestamp, echo_types)."""
    pool = pools_of(dsn)
    grouped: dict = {}
    for r in query(dsn, 'select session_id, term, depth, "timestamp", echo_types from raw.variance_probe_runs'):
        grouped.setdefault(pool[r["session_id"]][1], []).append(r)
    return grouped


def mart_pool_of(dsn) -> dict:
    """pool tuple -> the mart's pool_key (through session_stats, one session of each pool)."""
    pool = pools_of(dsn)
    return {pool[r["session_id"]][1]: r["pool_key"] for r in query(dsn, "select session_id, pool_key "
                                                                        "from marts.session_stats")}


def test_pools_are_the_sessions_of_one_term_under_equal_settings(built_db):
    dsn = built_db["dsn"]
    pool = pools_of(dsn)
    keys = {r["session_id"]: (r["settings_key"], r["pool_key"]) for r in query(dsn, "select * from marts.session_stats")}
    for a in pool:
        for b in pool:
            assert (pool[a][0] == pool[b][0]) == (keys[a][0] == keys[b][0])
            assert (pool[a][1] == pool[b][1]) == (keys[a][1] == keys[b][1])
    # the hot Aufhebung session (temperature 1.2) is not pooled with the collected one
    hot = built_db["hot_session"]
    assert sum(1 for s in keys if keys[s][1] == keys[hot][1]) == 1


def test_term_comparison_equals_an_independent_computation(built_db):
    dsn = built_db["dsn"]
    grouped, mart_key = runs_of_pools(dsn), mart_pool_of(dsn)
    expected = {tuple(sorted((pa, pb), key=lambda p: p[0])) for pa in grouped for pb in grouped
                if pa[1] == pb[1] and pa[0] < pb[0]}
    rows = query(dsn, "select * from marts.term_comparison order by term_a, term_b")
    assert expected and len(rows) == len(expected)
    assert {(r["pool_key_a"], r["pool_key_b"]) for r in rows} == {(mart_key[a], mart_key[b]) for a, b in expected}
    for pa, pb in expected:
        row = next(r for r in rows if (r["pool_key_a"], r["pool_key_b"]) == (mart_key[pa], mart_key[pb]))
        depths_a, depths_b = [r["depth"] for r in grouped[pa]], [r["depth"] for r in grouped[pb]]
        a, b = [depths_a.count(d) for d in range(4)], [depths_b.count(d) for d in range(4)]
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
                expected_count = total * (x + y) / (na + nb)
                chi += (observed - expected_count) ** 2 / expected_count
        assert row["chi_square"] == pytest.approx(chi)
        assert row["chi_square_df"] == columns - 1
        assert row["depth_mean_diff"] == pytest.approx(statistics.mean(depths_a) - statistics.mean(depths_b))
        assert row["depth_mean_diff_se"] == pytest.approx(welch(depths_a, depths_b)["se"])


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


def test_session_comparison_names_the_earliest_session_of_the_pool_as_baseline(built_db):
    dsn = built_db["dsn"]
    pool = pools_of(dsn)
    started = {r["session_id"]: (r["started_at"], str(r["session_id"]))
               for r in query(dsn, "select session_id, started_at from raw.probe_sessions")}
    with_runs = {r["session_id"] for r in query(dsn, "select distinct session_id from raw.variance_probe_runs")}
    rows = query(dsn, "select * from marts.session_comparison")
    assert len(rows) == len(pool)
    for row in rows:
        mates = [s for s in pool if pool[s][1] == pool[row["session_id"]][1] and s in with_runs]
        assert row["baseline_session_id"] == min(mates, key=started.get)
        assert row["is_baseline"] == (row["session_id"] == row["baseline_session_id"])
        if row["is_baseline"]:
            assert row["depth_mean_diff"] == 0 and row["depth_mean_p"] is None
    # Aufhebung at temperature 1.2 is its own pool's baseline, not compared with the one at 0.8
    hot = next(r for r in rows if r["session_id"] == built_db["hot_session"])
    assert hot["is_baseline"]


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
    groups, mart_key = runs_of_pools(dsn), mart_pool_of(dsn)
    rows = {r["pool_key"]: r for r in query(dsn, "select * from marts.term_depth_distribution")}
    assert set(rows) == {mart_key[p] for p in groups}
    for key, group in groups.items():
        row = rows[mart_key[key]]
        assert row["term"] == key[0] and row["temperature"] == key[1][SETTINGS.index("temperature")]
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
        assert row["depth_entropy_ci95_low"] <= row["depth_entropy_ci95_high"]
        assert row["first_run_at"] == min(r["timestamp"] for r in group)
        assert row["last_run_at"] == max(r["timestamp"] for r in group)


def test_chain_patterns_and_echo_types_by_round_equal_an_independent_computation(built_db):
    dsn = built_db["dsn"]
    groups, mart_key = runs_of_pools(dsn), mart_pool_of(dsn)
    patterns: dict = {}
    by_round: dict = {}
    for pool, runs in groups.items():
        key = mart_key[pool]
        for r in runs:
            patterns.setdefault(key, Counter())[">".join(r["echo_types"])] += 1
            for number, echo_type in enumerate(r["echo_types"], start=1):
                by_round.setdefault((key, number), Counter())[echo_type] += 1

    rows = query(dsn, "select * from marts.chain_patterns")
    assert len(rows) == sum(len(c) for c in patterns.values())
    for key, counter in patterns.items():
        total = sum(counter.values())
        ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
        mine = {r["echo_pattern"]: r for r in rows if r["pool_key"] == key}
        for rank, (pattern, n) in enumerate(ranked, start=1):
            assert mine[pattern]["runs"] == n
            assert mine[pattern]["share"] == pytest.approx(n / total)
            assert mine[pattern]["pattern_rank"] == rank

    rows = query(dsn, "select * from marts.echo_type_by_round")
    assert len(rows) == sum(len(c) for c in by_round.values())
    for r in rows:
        counter = by_round[(r["pool_key"], r["round_number"])]
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
    se = welch(s, b)["se"]  # each variance floored as for its mean's interval
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
