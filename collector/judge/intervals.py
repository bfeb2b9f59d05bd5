"""Intervals around a judge's agreement with labelled rounds, with the terms resampled.

The rounds of one term are not independent draws: a term the judge reads badly (a sense its
reference does not name, a model that drifts the same way in every run) moves all of that term's
rounds together. A set of 157 rounds over 12 terms therefore says much less than 157 independent
rounds would, and an interval that resamples rounds would be far too narrow. The unit resampled is
the term (a cluster bootstrap): draw the set's terms with replacement, keep every round of each
drawn term, and recompute the figure. The 2.5th and 97.5th percentiles of those figures are the
95% interval (percentile bootstrap).

Every figure ``nyx-collect validate`` prints comes from the confusion matrix, and a resample's
matrix is the sum of its drawn terms' matrices, so the whole bootstrap is one weighted sum of
per-term matrices: fast even for 100,000 rounds.

A set of fewer than :data:`MIN_TERMS` terms gets no interval: the percentiles of a handful of
distinct resamples say little.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from collector.core.records import EchoType
from collector.judge.validation import LABELS

MIN_TERMS = 5
RESAMPLES = 2000
SEED = 0
LEVEL = 0.95
CONTINUES = np.array([EchoType(label).continues for label in LABELS])


@dataclass(frozen=True)
class Intervals:
    """95% intervals of the four headline figures, from ``resamples`` resamples of ``terms`` terms.
    A kappa's interval is None when too few resamples define it (every label the same)."""

    terms: int
    resamples: int
    seed: int
    level: float
    accuracy: tuple[float, float]
    kappa: tuple[float, float] | None
    continue_stop_accuracy: tuple[float, float]
    continue_stop_kappa: tuple[float, float] | None

    def as_dict(self) -> dict:
        return {"method": "percentile bootstrap, terms resampled with replacement", "terms": self.terms,
                "resamples": self.resamples, "seed": self.seed, "level": self.level,
                "accuracy": self.accuracy, "kappa": self.kappa,
                "continue_stop_accuracy": self.continue_stop_accuracy,
                "continue_stop_kappa": self.continue_stop_kappa}


def figures(confusion: np.ndarray) -> dict[str, np.ndarray]:
    """The headline figures of one or many confusion matrices (``(..., 5, 5)``, gold by predicted, in
    the order of :data:`LABELS`); a kappa is NaN where chance agreement is 1."""
    n = confusion.sum((-2, -1))
    cs = np.stack([np.stack([confusion[..., CONTINUES == g, :][..., :, CONTINUES == p].sum((-2, -1))
                             for p in (True, False)], -1) for g in (True, False)], -2)
    out = {}
    for name, m in (("", confusion), ("continue_stop_", cs)):
        observed = np.trace(m, axis1=-2, axis2=-1) / n
        expected = (m.sum(-1) * m.sum(-2)).sum(-1) / n ** 2
        with np.errstate(invalid="ignore", divide="ignore"):
            kappa = np.where(expected < 1, (observed - expected) / (1 - expected), np.nan)
        out[name + "accuracy"], out[name + "kappa"] = observed, kappa
    return out


def term_intervals(terms: Sequence[str], gold: Sequence[str], predicted: Sequence[str], *,
                   resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL) -> Intervals | None:
    """The intervals of accuracy, kappa and the continue/stop figures, the terms resampled; None with
    fewer than :data:`MIN_TERMS` terms or no resamples."""
    names = sorted(set(terms))
    if len(names) < MIN_TERMS or resamples <= 0:
        return None
    index = {label: k for k, label in enumerate(LABELS)}
    per_term = np.zeros((len(names), len(LABELS), len(LABELS)))
    where = {t: k for k, t in enumerate(names)}
    for t, g, p in zip(terms, gold, predicted, strict=True):
        per_term[where[t], index[g], index[p]] += 1
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(len(names), np.full(len(names), 1 / len(names)), size=resamples)
    stats = figures(np.einsum("bt,tij->bij", draws, per_term))
    tail = (1 - level) / 2 * 100

    def span(values: np.ndarray) -> tuple[float, float] | None:
        values = values[~np.isnan(values)]
        if len(values) < resamples / 2:
            return None
        low, high = np.percentile(values, [tail, 100 - tail])
        return round(float(low), 4), round(float(high), 4)

    return Intervals(terms=len(names), resamples=resamples, seed=seed, level=level,
                     accuracy=span(stats["accuracy"]), kappa=span(stats["kappa"]),
                     continue_stop_accuracy=span(stats["continue_stop_accuracy"]),
                     continue_stop_kappa=span(stats["continue_stop_kappa"]))
