"""Chain embeddings and their spread, from the vectors the judge already computed.

A chain's embedding is built from the embeddings of its texts (the framed term, then each accepted
completion), which the judge computed while classifying and the model keeps in memory, so storing
chains costs no extra forward pass in the usual case. Each text contributes its two z-scored
poolings; the chain vector is the L2-normalised mean pooling average concatenated with the
L2-normalised last-token average, scaled to unit length. The cosine of two chain vectors is then
the mean of the two cosines, as for the judge's similarity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from collector.model.lm import LanguageModel


def _unit(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(x, dim=-1)


def chain_texts(anchor: str, chain: Sequence[str]) -> list[str]:
    """The texts a stored chain is embedded from: the framed term (``anchor``, the round-1 prompt)
    in place of the bare term, then the accepted completions."""
    return [anchor, *chain[1:]]


def embed_chains(lm: LanguageModel, chains: Sequence[Sequence[str]]) -> torch.Tensor:
    """One unit vector per chain (rows), float32 on the CPU; each chain is a list of texts."""
    texts = list(dict.fromkeys(t for chain in chains for t in chain))
    index = {t: i for i, t in enumerate(texts)}
    emb = lm.embed(texts)
    rows = []
    for chain in chains:
        picked = [index[t] for t in chain if emb.valid[index[t]]] or [index[chain[0]]]
        rows.append(torch.cat([_unit(emb.mean[picked].mean(0)), _unit(emb.last[picked].mean(0))]))
    return _unit(torch.stack(rows)) if rows else torch.zeros(0, 2 * lm.hidden_size)


@dataclass(frozen=True)
class Spread:
    """How spread a set of unit vectors is (cosine distances, 0 = identical)."""

    chains: int
    dimensions: int
    mean_centroid_distance: float
    mean_pairwise_cosine_distance: float | None


def spread(vectors: torch.Tensor) -> Spread:
    """Mean cosine distance to the normalised centroid, and mean over pairs of distinct vectors.

    For unit vectors the pairwise mean needs no n x n matrix: the sum over ordered pairs i != j
    of cos(v_i, v_j) is |sum v|^2 - n.
    """
    n, dims = vectors.shape
    total = vectors.double().sum(0)
    centroid = _unit(total)
    to_centroid = (1 - vectors.double() @ centroid).clamp(min=0).mean().item()
    pairwise = None
    if n >= 2:
        mean_cos = (total.dot(total).item() - n) / (n * (n - 1))
        pairwise = min(2.0, max(0.0, 1 - mean_cos))
    return Spread(n, dims, to_centroid, pairwise)
