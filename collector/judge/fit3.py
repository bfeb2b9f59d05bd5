"""Fit the judge ref-3 (:mod:`collector.judge.ref3`): embed (cached), select by leaving whole terms out, fit,
report per probe model.

    python -m collector.judge.fit3 --data ../shared/research --out collector/judge/params

writes ``ref-3.json`` (:class:`collector.judge.ref3.Ref3Params`, with the LOTO and development figures in
``cv``) and ``ref-3.calibration.npz`` (the generic corpus and the distractor first sentences) and prints
the report. ``make fit-judge`` runs it after ref-2's fit.

Training data, three sources, 32 terms: the hand-written rounds of ``echo_train.jsonl`` (``hand``), the
rows of ``echo_real_train.jsonl`` (SmolLM2-135M, ``real``) and of ``echo_real_train_qwen.jsonl``
(Qwen2.5-Coder-1.5B-Instruct, ``qwen``) on which both readers agree; with ``--with-own-labels`` also the
project's own blind-labelled Qwen rounds on the other 16 training terms (:data:`MORE_REAL`, also ``qwen``),
which by default only validate (docs/validity.md); the accepted glosses of the
training terms are ``collector/judge/data/fit_glosses.jsonl`` (written for the fit, like the references of
``echo_terms.jsonl``). The development set (``echo_labelled.jsonl``) takes its glosses from the shipped
glossary and is scored once with the final parameters, never fitted or selected on.

How it is fitted, per fold of the leave-one-term-out CV (and once on all terms for the final
parameters): the ``own`` logistic (continue vs stop) on the round-1 rows, the ``later`` logistic on the
later rows (its ``prev_own`` input is the fold's ``own`` score of the previous text), both L2, each source
weighted by :data:`SOURCE_WEIGHTS` (a source's rows share its weight); then every threshold of the rules by
coordinate descent over fixed grids, maximising the weighted mean over the sources of the mean of accuracy
and continue/stop accuracy. Candidates (:data:`CANDIDATES`: which inputs the logistics take) are compared
by the LOTO objective; the best is refitted on all training rows. Deterministic: fixed grids and order.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from collector.judge import ref3
from collector.judge.fit3_report import SOURCES, own_label_lines, table
from collector.judge.fit_metrics import LI, confusion, fmt_conf, is_cont
from collector.judge.fit_data import EmbedCache, default_cache_path, frame_of, load, read_corpus
from collector.judge.reference import Calibration, first_sentence, sha256

SOURCE_WEIGHTS = {"hand": 1.0, "real": 1.0, "qwen": 1.0}
"""Weight of each source in the logistic fits and the objective: each source counts alike, whatever its
number of rows. (Weighting the real sources up, 1.5 or 2.5 to 1, lowered every LOTO figure, the real ones
included: the hand-written rows carry the terms' meanings most cleanly and keep the fit general.)"""
LR_L2 = 3.0
BASE = ("sim_first", "z_ref", "ctr_first")
CANDIDATES = {
    "ref2-features": (BASE, BASE),
    "anchors": (BASE + ("z_sent", "z_gloss"), BASE + ("z_sent", "z_gloss")),
    "anchors+lex": (BASE + ("z_sent", "z_gloss", "lex", "mention"), BASE + ("z_sent", "z_gloss", "lex", "mention")),
    "anchors+lex+chain": (BASE + ("z_sent", "z_gloss", "lex", "mention"),
                          BASE + ("z_sent", "z_gloss", "lex", "mention", "prev_own", "sim_prev")),
    "anchors+lex+context": (BASE + ("z_sent", "z_gloss", "lex", "mention"),
                            BASE + ("z_sent", "z_gloss", "lex", "mention", "ctx_z_ref", "ctx_z_sent", "ctx_z_gloss")),
    "best+lex": (BASE + ("z_best", "lex", "mention"), BASE + ("z_best", "lex", "mention")),
    "anchors+best+lex": (BASE + ("z_sent", "z_gloss", "z_best", "lex", "mention"),
                         BASE + ("z_sent", "z_gloss", "z_best", "lex", "mention")),
}
"""(own inputs, later inputs) of each candidate."""
GLOSSES_FILE = Path(__file__).with_name("data") / "fit_glosses.jsonl"
MORE_REAL = (("qwen", Path(__file__).with_name("data") / "echo_real_more_qwen.jsonl"),)
"""Real rounds the project labelled itself (blind, two readers), as (source, file): Qwen2.5-Coder-1.5B on
the 16 training terms that the shared real sets leave out."""


def notes(with_own_labels: bool) -> str:
    """The provenance a params file states: the sets it was fitted on (our own Qwen rounds only when
    ``--with-own-labels`` put them in the fit)."""
    qwen = "echo_real_train_qwen.jsonl" + (" and collector/judge/data/echo_real_more_qwen.jsonl" if with_own_labels else "")
    return ("fitted by fit3.py on echo_train.jsonl + agreeing rows of echo_real_train.jsonl (SmolLM2) and "
            f"{qwen} (Qwen-Coder-1.5B); glosses of the training terms from collector/judge/data/fit_glosses.jsonl; "
            "selection by leave-one-term-out CV; dev set scored once")


# ------------------------------------------------------------------------------------------- data


def read_jsonl(path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def meanings(terms: dict[str, dict]) -> dict[str, tuple[list[str], list[str]]]:
    """term -> (references, glosses): training glosses from the fit's file, the others from the shipped glossary."""
    from collector.core.glossary import shipped_entries

    glosses = {g["term"]: [*g.get("glosses", ()), *g.get("glosses_de", ())] for g in read_jsonl(GLOSSES_FILE)}
    for e in shipped_entries():
        glosses.setdefault(e.term, [*getattr(e, "glosses", ()), *getattr(e, "glosses_de", ())])
    return {t: ([row["reference"]] + ([row["reference_de"]] if row.get("reference_de") else []), glosses.get(t, []))
            for t, row in terms.items()}


def build_calibration(cache: EmbedCache, train_terms: list[str], terms: dict) -> Calibration:
    corpus = read_corpus()
    dist = [first_sentence(terms[k]["reference"]) for k in sorted(train_terms)]
    C, D = cache.get(corpus, "q"), cache.get(dist, "q")
    return Calibration(np.asarray(C, np.float32), tuple(sha256(x) for x in corpus), np.asarray(D, np.float32),
                       tuple(sha256(x) for x in dist), tuple(sorted(train_terms)))


class Features:
    """Every item's features as arrays, with the own features of its previous text (for ``prev_own``)."""

    def __init__(self, items, means, cache, calibration, use_glosses=True, source_norm=None):
        embed: Callable[[list[str]], np.ndarray] = lambda texts: cache.get(list(texts), "q")
        anchors = {t: ref3.build_anchors(t, refs, gl if use_glosses else [], embed, calibration)
                   for t, (refs, gl) in means.items()}
        texts = sorted({it["text"] for it in items} | {it["prev"] for it in items}
                       | {frame_of(it["term"]) for it in items})
        V = dict(zip(texts, cache.get(texts, "q")))
        cache.save()
        rows, prev_rows = [], []
        dummy = ref3.Ref3Params(own=ref3.Logistic((), (), (), (0.0,)))
        for it in items:
            a = anchors[it["term"]]
            first = it["round"] == 1
            prev = frame_of(it["term"]) if first else it["prev"]
            fv = V[frame_of(it["term"])]
            f = ref3.round_features(it["text"], prev, first, V[it["text"]], V[prev], fv, a, dummy, it["term"], True)
            rows.append(f)
            prev_rows.append(ref3.own_features(prev, V[prev], a, fv))
        self.names = [k for k in rows[0] if k != "sim_ref"]
        self.a = {k: np.array([r[k] for r in rows], float) for k in self.names}
        self.prev = {k: np.array([r[k] for r in prev_rows], float) for k in (*ref3.OWN_FEATURES, "sim_frame")}
        # the best match over the sources, each calibrated by its spread over these texts (label-free), or
        # by the training texts' (``source_norm``) for texts the judge is not fitted on
        self.source_norm = source_norm or {k: [round(float(self.a[k].mean()), 6), round(float(self.a[k].std()), 6)]
                                           for k in ref3.SOURCES}
        for arrays in (self.a, self.prev):
            arrays["z_best"] = np.round(np.max([(arrays[k] - m) / sd for k, (m, sd) in self.source_norm.items()], 0), 6)
        for i, r in enumerate(rows):
            r["z_best"] = float(self.a["z_best"][i])
        self.rows = rows

    def sub(self, m) -> "Features":
        out = object.__new__(Features)
        out.names, out.rows, out.source_norm = self.names, None, self.source_norm
        out.a = {k: v[m] for k, v in self.a.items()}
        out.prev = {k: v[m] for k, v in self.prev.items()}
        return out


# ------------------------------------------------------------------------------------------- fitting


def fit_logistic(X: np.ndarray, y: np.ndarray, w: np.ndarray, names, lam=LR_L2, iters=30) -> ref3.Logistic:
    m, sd = X.mean(0), X.std(0)
    sd = np.where(sd < 1e-6, 1.0, sd)  # a constant input (in a fold) standardises to 0, not to a division by 0
    Z = np.c_[np.ones(len(X)), (X - m) / sd]
    b = np.zeros(Z.shape[1])
    R = lam * np.eye(Z.shape[1])
    R[0, 0] = 0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-Z @ b))
        b -= np.linalg.solve((Z * (w * p * (1 - p))[:, None]).T @ Z + R, Z.T @ (w * (p - y)) + R @ b)

    def r(v):
        return tuple(round(float(x), 6) for x in v)

    return ref3.Logistic(tuple(names), r(m), r(sd), r(b))


def score_vec(lg: ref3.Logistic, a: dict) -> np.ndarray:
    z = lg.coef[0]
    for k, c, m, s in zip(lg.features, lg.coef[1:], lg.mean, lg.scale):
        z = z + c * (a[k] - m) / s
    return np.round(z, 4)


def source_weights(s: np.ndarray) -> np.ndarray:
    w = np.zeros(len(s))
    for name, weight in SOURCE_WEIGHTS.items():
        m = s == name
        if m.any():
            w[m] = weight * len(s) / m.sum()
    return w


def decide_vec(a: dict, score: np.ndarray, p: ref3.Ref3Params, mode="reference") -> np.ndarray:
    """Vectorised twin of :func:`collector.judge.ref3.decide` (label indices; checked against it in main)."""
    n = len(score)
    y = np.full(n, LI["EXPANDS"])
    done = np.zeros(n, bool)

    def put(mask, lab):
        nonlocal done
        m = mask & ~done
        y[m] = LI[lab]
        done |= m

    put(a["n_words"] < p.min_words, "COLLAPSE")
    put(a["nonletter_ratio"] > p.max_nonletter, "COLLAPSE")
    put(a["content_words"] == 0, "COLLAPSE")
    put(a["distinct_ratio"] < p.collapse_distinct, "COLLAPSE")
    put(a["copy_prev"] >= p.copy_prev, "CIRCULAR")
    put(a["self_rep"] >= p.self_rep, "CIRCULAR")
    put(a["distinct_ratio"] < p.circular_distinct, "CIRCULAR")
    first = a["first"] >= 1
    if mode == "frame":
        put(a["sim_frame"] < np.where(first, p.frame_first, p.frame_later), "DIVERGENT")
        put(np.ones(n, bool), "CONFIRMS")
        return y
    put(score < np.where(first, p.anchor_first, p.anchor_later), "DIVERGENT")
    put(a["new_stems"] <= np.where(first, p.confirms_first, p.confirms_later), "CONFIRMS")
    return y


def scores(F: Features, p: ref3.Ref3Params) -> np.ndarray:
    """The on-meaning score of each row under ``p`` (own in round 1, later otherwise)."""
    a = dict(F.a)
    a["prev_own"] = np.where(a["first"] >= 1, 0.0, score_vec(p.own, F.prev))
    return np.where(a["first"] >= 1, score_vec(p.own, a), score_vec(p.later, a))


GRIDS = {
    "min_words": [1, 2, 3, 4],
    "max_nonletter": [0.2, 0.25, 0.3, 0.4, 0.5],
    "collapse_distinct": [0.0, 0.1, 0.2, 0.3],
    "copy_prev": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.01],
    "self_rep": [0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.01],
    "circular_distinct": [0.0, 0.3, 0.4, 0.5, 0.6],
    "anchor_first": [round(float(x), 2) for x in np.linspace(-3, 3, 61)],
    "anchor_later": [round(float(x), 2) for x in np.linspace(-3, 3, 61)],
    "confirms_first": list(range(0, 21)) + [99],
    "confirms_later": list(range(0, 21)) + [99],
}
FRAME_GRID = None  # filled from the data: quantiles of sim_frame


def objective(y, pred, s) -> float:
    """The weighted mean over the sources of (accuracy + continue/stop accuracy) / 2."""
    vals, ws = [], []
    for name, w in SOURCE_WEIGHTS.items():
        m = s == name
        if m.any():
            vals += [np.mean(y[m] == pred[m]), np.mean(is_cont(y[m]) == is_cont(pred[m]))]
            ws += [w, w]
    return float(np.average(vals, weights=ws))


def descend(p, grids, evaluate, sweeps=3):
    best = evaluate(p)
    for _ in range(sweeps):
        changed = False
        for k, vals in grids.items():
            for v in vals:
                cand = dataclasses.replace(p, **{k: v})
                sc = evaluate(cand)
                if sc > best + 1e-12:
                    best, p, changed = sc, cand, True
        if not changed:
            break
    return p, best


def fit(F: Features, y, s, candidate) -> ref3.Ref3Params:
    own_in, later_in = CANDIDATES[candidate]
    a = F.a
    first = a["first"] >= 1
    yc = is_cont(y).astype(float)
    w = source_weights(s)
    X1 = np.stack([a[k] for k in own_in], 1)
    own = fit_logistic(X1[first], yc[first], w[first], own_in)
    aa = dict(a)
    aa["prev_own"] = score_vec(own, F.prev)
    XL = np.stack([aa[k] for k in later_in], 1)
    later = fit_logistic(XL[~first], yc[~first], w[~first], later_in)
    p = ref3.Ref3Params(own=own, later=later, source_norm=F.source_norm)
    sc = scores(F, p)
    p, _ = descend(p, GRIDS, lambda q: objective(y, decide_vec(a, sc, q), s))
    frame_grid = list(np.unique(np.round(np.quantile(a["sim_frame"], np.linspace(0.02, 0.98, 49)), 3)))
    p, _ = descend(p, {"frame_first": frame_grid, "frame_later": frame_grid},
                   lambda q: objective(y, decide_vec(a, sc, q, "frame"), s))
    return p


def loto(F: Features, y, s, g, candidate):
    pred = np.full(len(y), -1)
    pred_frame = np.full(len(y), -1)
    for t in sorted(set(g.tolist())):
        te = g == t
        p = fit(F.sub(~te), y[~te], s[~te], candidate)
        Ft = F.sub(te)
        sc = scores(Ft, p)
        pred[te] = decide_vec(Ft.a, sc, p)
        pred_frame[te] = decide_vec(Ft.a, sc, p, "frame")
    return pred, pred_frame


# ------------------------------------------------------------------------------------------- report


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m collector.judge.fit3", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="../shared/research")
    ap.add_argument("--out", default="collector/judge/params")
    ap.add_argument("--cache", default=None)
    ap.add_argument("--candidates", default=",".join(CANDIDATES))
    ap.add_argument("--report-json", default=None)
    ap.add_argument("--with-own-labels", action="store_true",
                    help="also fit on the project's own labelled Qwen rounds (MORE_REAL); by default they only "
                         "validate, see docs/validity.md")
    return ap.parse_args(argv)


# ------------------------------------------------------------------------------------------- the fit

def cross_validate(F: Features, y, s, g, r, candidates: list[str], text: list[str]) -> dict[str, tuple]:
    """Each candidate's LOTO objective and predictions (reference and frame mode); its table goes to
    ``text`` (and to stderr as it comes)."""
    cv = {}
    for cand in candidates:
        pred, pred_frame = loto(F, y, s, g, cand)
        ob = objective(y, pred, s)
        cv[cand] = (ob, pred, pred_frame)
        res, lines = table("\n[%s] LOTO objective %.4f" % (cand, ob), y, pred, s, r, SOURCES)
        text += lines
        print("\n".join(lines), file=sys.stderr, flush=True)
    return cv


def loto_without_glosses(F: Features, F_ng: Features, y, s, g, train_terms: list[str], best: str) -> np.ndarray:
    """LOTO predictions of the same kind of judge on anchors read off the references only (``F_ng``)."""
    pred_ng = np.full(len(y), -1)
    for t in train_terms:
        te = g == t
        p = fit(F.sub(~te), y[~te], s[~te], best)
        Ft = F_ng.sub(te)
        pred_ng[te] = decide_vec(Ft.a, scores(Ft, p), p)
    return pred_ng


def check_twin(F: Features, final: ref3.Ref3Params) -> None:
    """The vectorised twin must agree with :func:`collector.judge.ref3.decide` on every training row."""
    sc = scores(F, final)
    for i, row in enumerate(F.rows):
        row = dict(row)
        row["prev_own"] = 0.0 if row["first"] >= 1 else final.own.score({k: F.prev[k][i] for k in ref3.OWN_FEATURES})
        if LI[ref3.decide(row, final)[0]] != decide_vec({k: F.a[k][i:i + 1] for k in F.names}, sc[i:i + 1], final)[0]:
            raise SystemExit("decide_vec and ref3.decide disagree on row %d" % i)


def with_cv(final: ref3.Ref3Params, encoder: str, report: dict, res: dict, res_ng: dict,
            res_dv: dict, with_own_labels: bool = False) -> ref3.Ref3Params:
    """The final parameters with the encoder, the notes and the ``cv`` figures the params file keeps."""
    keep = ("n", "accuracy", "kappa", "continue_stop_accuracy", "continue_stop_kappa")
    return dataclasses.replace(final, encoder=encoder, notes=notes(with_own_labels), cv={
        "selected": report["selected"], "candidates_loto_objective": report["candidates"],
        "source_weights": SOURCE_WEIGHTS,
        "loto": {k: {m: v[m] for m in keep} for k, v in res.items()},
        "loto_without_glosses": {k: {m: v[m] for m in keep} for k, v in res_ng.items()},
        "dev": {m: res_dv["dev"][m] for m in keep}})


def main(argv=None) -> None:
    args = parse_args(argv)
    t0 = time.time()
    items, terms, n_disagree = load(args.data, ("real", "qwen"), MORE_REAL if args.with_own_labels else ())
    cache = EmbedCache(args.cache or default_cache_path())
    tr = [it for it in items if it["set"] in SOURCES]
    dv = [it for it in items if it["set"] == "dev"]
    y = np.array([LI[it["label"]] for it in tr])
    s = np.array([it["set"] for it in tr])
    g = np.array([it["term"] for it in tr])
    r = np.array([it["round"] for it in tr])
    y_dv = np.array([LI[it["label"]] for it in dv])
    train_terms = sorted(set(g.tolist()))
    calibration = build_calibration(cache, train_terms, terms)
    means = meanings(terms)
    F = Features(tr, means, cache, calibration)
    F_dv = Features(dv, means, cache, calibration, source_norm=F.source_norm)
    F_ng = Features(tr, means, cache, calibration, use_glosses=False, source_norm=F.source_norm)
    text = ["ref-3 fit: %d hand, %d SmolLM2 real, %d Qwen real (agreeing; %d disagreeing dropped), %d terms"
            % (*(int(np.sum(s == k)) for k in SOURCES), n_disagree, len(train_terms))]
    report = {"n": {k: int(np.sum(s == k)) for k in SOURCES}, "n_disagreeing_dropped": n_disagree}
    cv = cross_validate(F, y, s, g, r, args.candidates.split(","), text)
    best = max(cv, key=lambda k: (round(cv[k][0], 4), -list(CANDIDATES).index(k)))
    ob, pred, pred_frame = cv[best]
    final = fit(F, y, s, best)
    report["candidates"] = {k: round(v[0], 4) for k, v in cv.items()}
    report["selected"] = best
    res, lines = table("\nselected %s: LOTO (reference mode)" % best, y, pred, s, r, SOURCES)
    text += lines
    report["loto"] = res
    text += own_label_lines(res, tr, y, s, pred)
    # without glosses: the same fold parameters' kind of judge on anchors read off the references only
    pred_ng = loto_without_glosses(F, F_ng, y, s, g, train_terms, best)
    res_ng, lines = table("\nLOTO without the glossary's glosses (only those read off the references)",
                          y, pred_ng, s, r, SOURCES)
    text += lines
    report["loto_without_glosses"] = res_ng
    res_fr, lines = table("\nframe mode (no reference meaning), LOTO", y, pred_frame, s, r, SOURCES)
    text += lines
    report["loto_frame"] = res_fr
    # the development set, once, with the final parameters
    p_dv = decide_vec(F_dv.a, scores(F_dv, final), final)
    res_dv, lines = table("\ndevelopment set (final parameters, scored once)", y_dv, p_dv,
                          np.array(["dev"] * len(dv)), np.array([it["round"] for it in dv]), ("dev",))
    text += lines + ["  confusion\n%s" % fmt_conf(confusion(y_dv, p_dv))]
    report["dev"] = res_dv["dev"]
    check_twin(F, final)
    final = with_cv(final, cache.name, report, res, res_ng, res_dv, args.with_own_labels)
    os.makedirs(args.out, exist_ok=True)
    final.save(os.path.join(args.out, "ref-3.json"))
    calibration.save(os.path.join(args.out, "ref-3.calibration.npz"))
    if args.report_json:
        with open(args.report_json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
    cache.save()
    text.append("\nwrote ref-3.json and ref-3.calibration.npz to %s (%.0f s)" % (args.out, time.time() - t0))
    print("\n".join(text))


if __name__ == "__main__":
    main()
