"""Variants of the judge ref-3 that were tried and not shipped, with the figures that decided it
(docs/validity.md, "Tried and not shipped").

Each variant adds inputs to ref-3's two logistics (``anchors+lex``, the shipped candidate) and goes
through the same fit as ref-3 (``collector.judge.fit3.fit``: logistics, then every threshold by
coordinate descent). Two kinds of figures, per probe model:

* **LOTO** over the training terms (hand-written, SmolLM2 real, Qwen real; the objective ``fit3``
  selects by): the criterion a variant must win to be shipped;
* **held out**: the final fit of each variant on the sets the fit never sees
  (``collector/judge/data/echo_real_more_qwen.jsonl``, the Qwen and SmolLM2 rounds of the model ladder,
  ``bench/ladder_*.jsonl``, and both models' rounds on 12 terms no set of the project holds,
  ``bench/unseen_*.jsonl``), rows where both readers agree. Reported, never selected on.

The inputs a variant may add:

* ``lead_gloss`` / ``lead_mean``: whether / how many content stems of the text's lead (up to its first
  ``.!?;`` or line end, at most 10 words: where a knowing model puts its translation, ``"obligation."
  Can you explain ...``) are stems of the glosses / of the references and glosses (lexical, free);
* ``L_ref``, ``L_sent``, ``L_gloss``: the calibrated anchor matches of the lead encoded on its own
  (round 1 only; a second encode a round-1 round);
* ``f_sim_first``, ``f_z_ref``, ``f_z_gloss``: the same matches of the frame ``The word "X" means``,
  a per-term covariate (how close the bare term already is to its meaning; the frame is encoded
  anyway);
* ``d_*``: the text's matches minus the frame's.

    .venv/bin/python bench/judge_variants.py [--data ../shared/research] [--variants a,b]

About two minutes on 2 CPU cores with the fit's embedding cache warm (``make fit-judge`` fills it).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from collector.judge import fit3, ref3  # noqa: E402
from collector.judge.classifier import content_stems  # noqa: E402
from collector.judge.fit_data import EmbedCache, default_cache_path, frame_of, load  # noqa: E402
from collector.judge.fit_metrics import LI, is_cont, kappa  # noqa: E402

SHIPPED = fit3.CANDIDATES["anchors+lex"][0]
VARIANTS = {
    "shipped (anchors+lex)": (),
    "+lead_gloss": ("lead_gloss",),
    "+lead_gloss+lead_mean": ("lead_gloss", "lead_mean"),
    "+lead encoded": ("L_ref", "L_sent", "L_gloss"),
    "+frame covariates": ("f_sim_first", "f_z_ref", "f_z_gloss"),
    "+frame's reference match": ("f_z_ref",),
    "text minus frame": ("d_sim_first", "d_z_ref", "d_ctr_first", "d_z_sent", "d_z_gloss"),
}
"""Name -> added inputs; "text minus frame" replaces the text's own matches by the differences."""
LEAD_END = re.compile(r"[.!?;\n]")
LEAD_WORDS = 10


def read_jsonl(path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def lead(text: str) -> str:
    t = text.strip()
    m = LEAD_END.search(t)
    return " ".join((t[:m.start()] if m and m.start() > 0 else t).split()[:LEAD_WORDS]) or t


def item(row: dict, label: str) -> dict:
    """A labelled round as the fit's features read it."""
    return dict(term=row["term"], round=row["round"], prev=row["prev"], text=row["text"], label=label)


def agreeing(path: Path) -> list[dict]:
    """The rounds of a two-reader file (``label``, ``label_b``) on which both readers agree."""
    return [item(r, r["label"]) for r in read_jsonl(path) if r["label"] == r["label_b"]]


def unseen_meanings() -> dict[str, tuple[list[str], list[str]]]:
    """The meanings of the terms no fit has seen (``bench/unseen_terms.jsonl``): their references only."""
    return {row["term"]: ([row["reference"]] + ([row["reference_de"]] if row.get("reference_de") else []), [])
            for row in read_jsonl(REPO / "bench/unseen_terms.jsonl")}


def held_out() -> dict[str, list[dict]]:
    """The sets the fit never sees, rows where both readers agree."""
    labels = {r["id"]: r for r in read_jsonl(REPO / "bench/ladder_labels.jsonl")}
    ladder: dict[str, list[dict]] = {"qwen": [], "smollm2": []}
    for r in read_jsonl(REPO / "bench/ladder_chains.jsonl"):
        lab = labels[r["id"]]
        if lab["label_a"] == lab["label_b"]:
            ladder[r["model"]].append(item(r, lab["label_a"]))
    return {"Qwen, 16 other terms": agreeing(REPO / "collector/judge/data/echo_real_more_qwen.jsonl"),
            "Qwen, champions (ladder)": ladder["qwen"], "SmolLM2, champions (ladder)": ladder["smollm2"],
            "Qwen, 12 unseen terms": agreeing(REPO / "bench/unseen_qwen.jsonl"),
            "SmolLM2, 12 unseen terms": agreeing(REPO / "bench/unseen_smollm2.jsonl")}


class Extra:
    """The variants' inputs for a list of items, added to their ``fit3.Features``."""

    def __init__(self, means, cache, calibration, source_norm):
        self.means, self.cache, self.calibration, self.norm = means, cache, calibration, source_norm
        self.anchors: dict = {}
        self.gloss_stems: dict = {}
        self.frames: dict = {}

    def embed(self, texts):
        return self.cache.get(list(texts), "q")

    def anchor(self, term):
        if term not in self.anchors:
            refs, glosses = self.means[term]
            a = self.anchors[term] = ref3.build_anchors(term, refs, glosses, self.embed, self.calibration)
            self.gloss_stems[term] = content_stems(ref3.anchor_texts(refs, glosses)["gloss"]) - a.term_stems
        return self.anchors[term]

    def frame(self, term):
        if term not in self.frames:
            fv = self.embed([frame_of(term)])[0]
            self.frames[term] = (fv, ref3.own_features(frame_of(term), fv, self.anchor(term), fv, self.norm))
        return self.frames[term]

    def add(self, F: fit3.Features, items: list[dict]) -> None:
        cols: dict[str, list[float]] = {}

        def put(k, v):
            cols.setdefault(k, []).append(float(v))

        leads = [lead(it["text"]) for it in items]
        lead_vecs = self.embed(leads)
        for i, it in enumerate(items):
            a = self.anchor(it["term"])
            stems = content_stems([leads[i]]) - a.term_stems
            put("lead_gloss", bool(stems & self.gloss_stems[it["term"]]))
            put("lead_mean", len(stems & a.meaning_stems))
            fv, ff = self.frame(it["term"])
            lf = ref3.own_features(leads[i], lead_vecs[i], a, fv, self.norm)
            for k in ("ref", "sent", "gloss"):
                put("L_" + k, lf["z_" + k] if it["round"] == 1 else F.a["z_" + k][i])
            for k in ("sim_first", "z_ref", "z_gloss", "z_sent", "ctr_first"):
                put("f_" + k, ff[k])
                put("d_" + k, F.a[k][i] - ff[k])
        for k, v in cols.items():
            F.a[k], F.prev[k] = np.array(v), np.zeros(len(v))


def figures(y, pred) -> str:
    c, pc = is_cont(y), is_cont(pred)
    cs = kappa(c, pc) if c.any() and (~c).any() else float("nan")
    return "%.3f / %.3f / %.3f / %s" % (np.mean(y == pred), kappa(y, pred), np.mean(c == pc),
                                         "-" if np.isnan(cs) else "%.3f" % cs)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "research"))
    ap.add_argument("--variants", default=",".join(VARIANTS))
    args = ap.parse_args(argv)
    items, terms, _ = load(args.data, ("real", "qwen"))
    tr = [it for it in items if it["set"] in fit3.SOURCES]
    y = np.array([LI[it["label"]] for it in tr])
    s = np.array([it["set"] for it in tr])
    g = np.array([it["term"] for it in tr])
    cache = EmbedCache(default_cache_path())
    calibration = fit3.build_calibration(cache, sorted(set(g.tolist())), terms)
    means = fit3.meanings(terms)
    from collector.core.glossary import shipped_entries

    for e in shipped_entries():  # the ladder's champions: the shipped glossary's meanings, as validate uses them
        if e.term not in means:
            means[e.term] = ([e.reference] + ([e.reference_de] if e.reference_de else []), [*e.glosses, *e.glosses_de])
    means.update(unseen_meanings())
    F = fit3.Features(tr, means, cache, calibration)
    extra = Extra(means, cache, calibration, F.source_norm)
    extra.add(F, tr)
    held = {}
    for name, rows in held_out().items():
        Fh = fit3.Features(rows, means, cache, calibration, source_norm=F.source_norm)
        extra.add(Fh, rows)
        held[name] = (Fh, np.array([LI[r["label"]] for r in rows]))
    cache.save()
    print("accuracy / kappa / continue-stop accuracy / continue-stop kappa; LOTO over %d training terms"
          % len(set(g.tolist())))
    for name in args.variants.split(","):
        added = VARIANTS[name]
        inputs = added + ("lex", "mention") if name == "text minus frame" else SHIPPED + added
        fit3.CANDIDATES[name] = (inputs, inputs)
        pred, _ = fit3.loto(F, y, s, g, name)
        p = fit3.fit(F, y, s, name)
        print("\n%s: LOTO objective %.4f" % (name, fit3.objective(y, pred, s)))
        for src, label in (("hand", "LOTO hand"), ("real", "LOTO SmolLM2 real"), ("qwen", "LOTO Qwen real")):
            m = s == src
            print("  %-30s %s" % (label, figures(y[m], pred[m])))
        for hname, (Fh, yh) in held.items():
            print("  %-30s %s" % (hname, figures(yh, fit3.decide_vec(Fh.a, fit3.scores(Fh, p), p))))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
