"""The features ref-2's fit (:mod:`collector.judge.fit`) works on: the calibration (corpus vectors and
distractors), every item's feature dict (:func:`collector.judge.reference.features`), the same as one
array per feature, and the texts cut mid-sentence of the truncation check."""

from __future__ import annotations

import numpy as np

import collector.judge.reference as rj
from collector.judge.fit_data import EmbedCache, frame_of, read_corpus


def term_refs(t: dict) -> list[str]:
    """A term's reference descriptions: English, then German where there is one."""
    return [t["reference"]] + ([t["reference_de"]] if t.get("reference_de") else [])


def build_calibration(cache: EmbedCache, ref_prefix: tuple[str, str], train_terms: list[str],
                      terms: dict) -> rj.Calibration:
    """The corpus vectors and the distractors (first sentences of the training terms' English references)."""
    rm = ref_prefix[0]
    corpus = read_corpus()
    dist_terms = sorted(train_terms)
    dist = [rj.first_sentence(terms[k]["reference"]) for k in dist_terms]
    C, D = cache.get(corpus, rm), cache.get(dist, rm)
    cache.save()
    return rj.Calibration(np.asarray(C, np.float32), tuple(rj.sha256(x) for x in corpus),
                          np.asarray(D, np.float32), tuple(rj.sha256(x) for x in dist), tuple(dist_terms))


def build_features(items, terms, cache, text_prefix, ref_prefix, text_override=None, calibration=None):
    """Feature dicts (:func:`collector.judge.reference.features`) of every item; ``text_override``
    (id -> text) replaces texts (the truncation check)."""
    tm, rm = text_prefix[0], ref_prefix[0]
    texts = [text_override.get(it["id"], it["text"]) if text_override else it["text"] for it in items]
    allt = set(texts)
    for it in items:
        allt.update(it["history"][1:])
    allt = sorted(allt)
    E = dict(zip(allt, cache.get(allt, tm)))
    refs = sorted({r for t in terms.values() for r in term_refs(t)})
    R = dict(zip(refs, cache.get(refs, rm)))
    firsts = sorted({rj.first_sentence(r) for r in refs})
    FS = dict(zip(firsts, cache.get(firsts, rm)))
    frames = sorted({frame_of(t) for t in terms})
    FR = dict(zip(frames, cache.get(frames, tm)))
    cache.save()
    out = []
    for it, text in zip(items, texts):
        t = terms[it["term"]]
        rv = [R[r] for r in term_refs(t)]
        earlier = it["history"][2:] if it["round"] > 1 else []  # real: term, frame, then completions
        if it["set"] != "real" and it["round"] > 1:
            earlier = it["history"][1:]  # hand-written: [term, prev]
        fs = [rj.first_sentence(x) for x in term_refs(t)]
        sims = rj.similarities(E[text], FR[frame_of(it["term"])], rv, [E[e] for e in earlier],
                               first_vecs=[FS[x] for x in fs], calibration=calibration,
                               own_first_sha256=[rj.sha256(x) for x in fs])
        out.append(rj.features(text, it["prev"], it["history"], it["round"], sims))
    return out


def to_arrays(feats: list[dict], mode: str) -> dict[str, np.ndarray]:
    """Feature dicts as one array per feature (None as -1), plus ``anchor`` / ``prev_anchor`` of the mode."""
    a = {k: np.array([f[k] if f[k] is not None else -1.0 for f in feats], dtype=float) for k in rj.FEATURE_NAMES}
    a["anchor"] = a["sim_ref"] if mode == "reference" else a["sim_frame"]
    a["prev_anchor"] = a["prev_sim_ref"] if mode == "reference" else a["prev_sim_frame"]
    return a



def truncate_text(text: str, frac: float = 0.6, min_words: int = 8) -> str:
    """Cut a text mid-sentence after ``frac`` of its whitespace tokens (as a 48-token sampler does)."""
    toks = text.split(" ")
    if len(toks) < min_words:
        return text
    return " ".join(toks[: max(1, int(round(len(toks) * frac)))]).rstrip(".;:")

