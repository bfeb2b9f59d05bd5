"""The judge-agreement marts against an independent computation from the raw rows: labels from
raw.round_labels, verdicts from raw.probe_rounds, Cohen's kappa from statsmodels."""

from __future__ import annotations

import json
import re
import warnings
from collections import Counter, defaultdict

import numpy as np
import pytest
from statsmodels.stats.inter_rater import cohens_kappa

from tests.cli_helpers import query

TYPES = ("EXPANDS", "CONFIRMS", "CIRCULAR", "DIVERGENT", "COLLAPSE")
CONTINUE = {"EXPANDS", "CONFIRMS"}


def kappa(pairs: list[tuple[str, str]]) -> float | None:
    table = np.zeros((5, 5))
    for a, b in pairs:
        table[TYPES.index(a), TYPES.index(b)] += 1
    n = table.sum()
    chance = float((table.sum(axis=1) * table.sum(axis=0)).sum() / n**2)
    if chance == pytest.approx(1.0):
        return None
    with warnings.catch_warnings():  # statsmodels' z statistic divides by zero on tiny tables
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(cohens_kappa(table).kappa)


def labelled(dsn: str) -> list[dict]:
    return query(dsn, """select s.model_name, s.term, s.judge_version, l.labeller,
                                l.session_id, l.run_number, l.round, l.label, r.echo_type as judge_type
                         from raw.round_labels as l
                         join raw.probe_rounds as r using (session_id, run_number, round)
                         join raw.probe_sessions as s using (session_id)""")


def population(dsn: str) -> Counter:
    """Rounds per stratum, from each run's recorded echo types (the synthetic sessions of the
    fixture have runs without round rows; for collected ones the two agree)."""
    rows = query(dsn, """select s.model_name, s.term, s.judge_version, r.echo_types
                         from raw.variance_probe_runs as r join raw.probe_sessions as s using (session_id)""")
    return Counter((r["model_name"], r["term"], r["judge_version"], i, t)
                   for r in rows for i, t in enumerate(r["echo_types"], start=1))


def expected(rows: list[dict], strata_sizes: Counter) -> dict:
    n = len(rows)
    agreed = sum(r["label"] == r["judge_type"] for r in rows)
    cs = sum((r["label"] in CONTINUE) == (r["judge_type"] in CONTINUE) for r in rows)
    by_stratum = defaultdict(list)
    for r in rows:
        by_stratum[(r["model_name"], r["term"], r["judge_version"], r["round"], r["judge_type"])].append(r)
    weight = sum(strata_sizes[k] for k in by_stratum)
    acc_w = sum(strata_sizes[k] * np.mean([r["label"] == r["judge_type"] for r in v]) for k, v in by_stratum.items())
    return {
        "labels": n, "labelled_rounds": len({(r["session_id"], r["run_number"], r["round"]) for r in rows}),
        "labellers": len({r["labeller"] for r in rows}), "agreed": agreed, "accuracy": agreed / n,
        "kappa": kappa([(r["label"], r["judge_type"]) for r in rows]), "continue_stop_accuracy": cs / n,
        "accuracy_weighted": acc_w / weight, "rounds_in_labelled_strata": weight,
        "confusion": dict(Counter(f"{r['label']}>{r['judge_type']}" for r in rows)),
    }


def close(actual, wanted) -> bool:
    return actual is None and wanted is None or (actual is not None and wanted is not None
                                                 and actual == pytest.approx(wanted))


def test_judge_agreement_equals_an_independent_computation(built_db):
    dsn = built_db["dsn"]
    rows = labelled(dsn)
    sizes = population(dsn)
    assert {r["labeller"] for r in rows} == {"ann", "bob"}
    groups = defaultdict(list)
    for r in rows:
        groups[(r["model_name"], r["term"], r["judge_version"], r["labeller"])].append(r)
    mart = {(m["model_name"], m["term"], m["judge_version"], m["labeller"]): m
            for m in query(dsn, "select * from marts.judge_agreement")}
    assert set(mart) == set(groups)
    for key, group in groups.items():
        m, want = mart[key], expected(group, sizes)
        for column in ("labels", "labelled_rounds", "labellers", "agreed", "rounds_in_labelled_strata"):
            assert m[column] == want[column], (key, column)
        for column in ("accuracy", "kappa", "continue_stop_accuracy", "accuracy_weighted"):
            assert close(m[column], want[column]), (key, column, m[column], want[column])
        assert m["confusion"] == want["confusion"]
        assert m["rounds_judged"] == sum(v for k, v in sizes.items() if k[:3] == key[:3])
    # the fixture's labels disagree with the judge now and then: the figures are not trivially 1
    assert any(m["accuracy"] < 1 for m in mart.values())


def test_confusion_mart_counts_every_label(built_db):
    dsn = built_db["dsn"]
    cells = Counter((r["labeller"], r["label"], r["judge_type"]) for r in labelled(dsn))
    mart = {(m["labeller"], m["label"], m["judge_type"]): m["rounds"]
            for m in query(dsn, "select * from marts.judge_confusion")}
    assert mart == dict(cells)


def test_labeller_agreement_equals_an_independent_computation(built_db):
    dsn = built_db["dsn"]
    by_round = defaultdict(dict)
    for r in labelled(dsn):
        by_round[(r["session_id"], r["run_number"], r["round"])][r["labeller"]] = r["label"]
    shared = [(v["ann"], v["bob"]) for v in by_round.values() if {"ann", "bob"} <= set(v)]
    assert len(shared) == 9
    (row,) = query(dsn, "select * from marts.labeller_agreement")
    assert (row["labeller_a"], row["labeller_b"], row["shared_rounds"]) == ("ann", "bob", len(shared))
    assert row["agreement"] == pytest.approx(sum(a == b for a, b in shared) / len(shared))
    assert close(row["kappa"], kappa(shared))
    cs = sum((a in CONTINUE) == (b in CONTINUE) for a, b in shared) / len(shared)
    assert row["continue_stop_agreement"] == pytest.approx(cs)


def test_session_stats_and_term_distribution_carry_the_pooled_agreement(built_db):
    dsn = built_db["dsn"]
    rows = labelled(dsn)
    sizes = population(dsn)
    want = expected(rows, sizes)  # every label is of the one collected Aufhebung session's model and judge
    (term,) = {(r["model_name"], r["term"], r["judge_version"]) for r in rows}
    stats = query(dsn, "select * from marts.session_stats")
    for s in stats:
        if (s["model_name"], s["term"], s["judge_version"]) == term:
            assert s["labelled_rounds"] == want["labelled_rounds"] and s["judge_labellers"] == 2
            assert s["judge_accuracy"] == pytest.approx(want["accuracy"])
            assert close(s["judge_kappa"], want["kappa"])
            assert s["judge_continue_stop_accuracy"] == pytest.approx(want["continue_stop_accuracy"])
            assert s["judge_accuracy_weighted"] == pytest.approx(want["accuracy_weighted"])
        else:
            assert s["labelled_rounds"] == 0 and s["judge_accuracy"] is None and s["judge_kappa"] is None
    assert sum(s["labelled_rounds"] > 0 for s in stats) >= 1
    dist = query(dsn, "select * from marts.term_depth_distribution")
    labelled_rows = [d for d in dist if d["labelled_rounds"]]
    assert labelled_rows and all((d["model_name"], d["term"], d["judge_version"]) == term
                                 for d in labelled_rows)
    assert all(d["judge_accuracy"] == pytest.approx(want["accuracy"]) for d in labelled_rows)


def test_stats_and_analyze_show_the_agreement_line_when_labels_exist(capsys, built_db):
    from tests.cli_helpers import run_cli

    dsn = built_db["dsn"]
    (labelled_session,) = {r["session_id"] for r in labelled(dsn)}
    row = query(dsn, "select * from marts.session_stats where session_id = %s", (labelled_session,))[0]
    result = run_cli(capsys, "stats", str(labelled_session), "--dsn", dsn)
    assert result.code == 0, result.err
    line = next(ln for ln in result.out.splitlines() if ln.startswith("labels"))
    assert f"{row['labelled_rounds']} labelled rounds" in line and "2 labellers" in line
    assert f"accuracy {row['judge_accuracy']:.3f}" in line and f"kappa {row['judge_kappa']:.3f}" in line
    assert f"continue/stop {row['judge_continue_stop_accuracy']:.3f}" in line
    # a session of a term nobody labelled shows no such line
    result = run_cli(capsys, "stats", str(built_db["synthetic_session"]), "--dsn", dsn)
    assert result.code == 0 and "labelled round" not in result.out

    result = run_cli(capsys, "analyze", "Aufhebung", "Synthese", "--dsn", dsn)
    assert result.code == 0, result.err
    assert "labels: " in result.out and "The judge against human labels" in result.out
    for m in query(dsn, "select * from marts.judge_agreement"):
        assert re.search(rf"{m['labeller']}\s+│?\s*{m['labels']}\s", result.out), m["labeller"]
    shown = json.loads(run_cli(capsys, "analyze", "Aufhebung", "--dsn", dsn, "--json").out)
    assert {a["labeller"] for a in shown["agreement"]} == {"ann", "bob"}
