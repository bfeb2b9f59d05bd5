"""ref-3's fit (collector.judge.fit3) on small synthetic feature sets (no embedding), and what the shipped
parameters record of it."""

from __future__ import annotations

import importlib.resources
import json

import numpy as np
import pytest

from collector.judge import fit3, ref3
from collector.judge.fit import LI

SOURCES = ("hand", "real", "qwen")


def synthetic(n_terms=6, per_term=24, seed=0):
    """Separable rows: on-meaning ones (EXPANDS with 15 new stems, CONFIRMS with 3) have every similarity and
    shared-word count well above the DIVERGENT ones'; a third are round 1; every term has every source."""
    rng = np.random.default_rng(seed)
    rows, labels, sets, groups = [], [], [], []
    for t in range(n_terms):
        for i in range(per_term):
            label = ("EXPANDS", "CONFIRMS", "DIVERGENT", "DIVERGENT")[i % 4]
            on = label != "DIVERGENT"
            z = rng.uniform(5, 7) if on else rng.uniform(1, 3)
            rows.append(dict(first=float(i % 3 == 0), n_words=20, distinct_ratio=0.8, nonletter_ratio=0.02,
                             content_words=10, new_stems=15 if label == "EXPANDS" else 3, novelty=0.6,
                             copy_prev=0.0, self_rep=0.0, sim_frame=0.8, sim_prev=0.5, z_ref=z, z_sent=z - 0.5,
                             z_gloss=z + 0.2, z_best=z + 0.2, sim_first=0.8 + z / 100, ctr_first=z / 100,
                             lex=4.0 if on else 0.0, mention=1.0, prev_own=0.0, ctx_z_ref=z, ctx_z_sent=z - 0.5,
                             ctx_z_gloss=z + 0.2))
            labels.append(LI[label])
            sets.append(SOURCES[i % 3])
            groups.append("term%d" % t)
    F = object.__new__(fit3.Features)
    F.names = list(rows[0])
    F.rows = rows
    F.a = {k: np.array([r[k] for r in rows], float) for k in F.names}
    F.prev = {k: F.a[k].copy() for k in (*ref3.OWN_FEATURES, "sim_frame")}
    F.source_norm = {k: [0.0, 1.0] for k in ref3.SOURCES}
    return F, np.array(labels), np.array(sets), np.array(groups)


def test_fit_separates_a_separable_set():
    F, y, s, g = synthetic()
    p = fit3.fit(F, y, s, "anchors+lex")
    pred = fit3.decide_vec(F.a, fit3.scores(F, p), p)
    assert np.mean(pred == y) == 1.0


def test_fit_is_deterministic():
    F, y, s, g = synthetic()
    assert fit3.fit(F, y, s, "anchors+lex") == fit3.fit(F, y, s, "anchors+lex")


def test_loto_never_fits_on_the_held_out_term(monkeypatch):
    F, y, s, g = synthetic()
    F.a["row"] = np.arange(len(y), dtype=float)  # sliced with the features: each fit shows the rows it saw
    seen = []
    real_fit = fit3.fit

    def spy(Fs, ys, ss, candidate):
        seen.append(set(Fs.a["row"].astype(int).tolist()))
        return real_fit(Fs, ys, ss, candidate)

    monkeypatch.setattr(fit3, "fit", spy)
    fit3.loto(F, y, s, g, "anchors+lex")
    terms = sorted(set(g.tolist()))
    assert len(seen) == len(terms)
    for term, rows in zip(terms, seen):
        assert rows == set(np.flatnonzero(g != term).tolist())


def test_loto_prediction_of_a_term_ignores_its_own_labels():
    F, y, s, g = synthetic()
    pred, _ = fit3.loto(F, y, s, g, "anchors+lex")
    flipped = y.copy()
    held = g == "term0"
    flipped[held] = LI["COLLAPSE"]  # nonsense labels for the held-out term only
    pred2, _ = fit3.loto(F, flipped, s, g, "anchors+lex")
    assert (pred[held] == pred2[held]).all()


def test_vectorised_decision_matches_the_judge():
    F, y, s, g = synthetic(seed=3)
    rng = np.random.default_rng(5)
    for k in ("copy_prev", "self_rep", "nonletter_ratio", "distinct_ratio"):
        F.a[k] = rng.uniform(0, 1, len(y))
    F.a["n_words"] = rng.integers(1, 30, len(y)).astype(float)
    F.rows = [{k: F.a[k][i] for k in F.names} for i in range(len(y))]
    p = fit3.fit(F, y, s, "anchors+lex+chain")
    sc = fit3.scores(F, p)
    vec = fit3.decide_vec(F.a, sc, p)
    for i, row in enumerate(F.rows):
        row = dict(row, prev_own=0.0 if row["first"] >= 1 else p.own.score({k: F.prev[k][i] for k in ref3.OWN_FEATURES}))
        assert LI[ref3.decide(row, p)[0]] == vec[i]
        assert LI[ref3.decide(row, p, "frame")[0]] == fit3.decide_vec(F.a, sc, p, "frame")[i]


def test_objective_counts_each_source_alike_whatever_its_size():
    y = np.array([LI["EXPANDS"]] * 10 + [LI["DIVERGENT"]] * 2)
    s = np.array(["hand"] * 10 + ["qwen"] * 2)
    right_on_hand = np.array([LI["EXPANDS"]] * 10 + [LI["EXPANDS"]] * 2)
    right_on_qwen = np.array([LI["DIVERGENT"]] * 10 + [LI["DIVERGENT"]] * 2)
    assert fit3.objective(y, right_on_hand, s) == pytest.approx(fit3.objective(y, right_on_qwen, s))


@pytest.fixture(scope="module")
def shipped():
    folder = importlib.resources.files("collector.judge").joinpath("params")
    with importlib.resources.as_file(folder.joinpath("ref-3.json")) as path:
        return ref3.Ref3Params.load(str(path))


def test_shipped_cv_reports_leave_one_term_out_figures_per_probe_model(shipped):
    cv = shipped.cv
    assert cv["selected"] == max(cv["candidates_loto_objective"], key=lambda k: (
        cv["candidates_loto_objective"][k], -list(fit3.CANDIDATES).index(k)))
    assert set(cv["candidates_loto_objective"]) == set(fit3.CANDIDATES)
    own, later = fit3.CANDIDATES[cv["selected"]]
    assert shipped.own.features == own and shipped.later.features == later
    for key in ("hand", "real", "real_round_1", "real_later", "qwen", "qwen_round_1", "qwen_later"):
        figures = cv["loto"][key]
        assert 0 <= figures["accuracy"] <= 1 and -1 <= figures["kappa"] <= 1
        assert 0 <= figures["continue_stop_accuracy"] <= 1
    for source in ("real", "qwen"):
        loto = cv["loto"]
        assert loto[source]["n"] == loto[source + "_round_1"]["n"] + loto[source + "_later"]["n"]
    assert cv["loto"]["hand"]["n"] == 416 and cv["dev"]["n"] == 48
    assert set(cv["loto_without_glosses"]) == set(cv["loto"])


def test_shipped_notes_name_the_sets_it_was_fitted_on(shipped):
    """The params file's provenance: our own Qwen rounds are named only when the fit used them (the
    shipped fit did not: its Qwen rows are the shared set's, fewer than the two sets together)."""
    more = [json.loads(line) for line in fit3.MORE_REAL[0][1].read_text(encoding="utf-8").splitlines() if line.strip()]
    own_rows = sum(r["label"] == r["label_b"] for r in more)
    with_own = shipped.cv["loto"]["qwen"]["n"] > own_rows
    assert shipped.notes == fit3.notes(with_own_labels=with_own)
    assert ("echo_real_more_qwen" in fit3.notes(True)) and ("echo_real_more_qwen" not in fit3.notes(False))
