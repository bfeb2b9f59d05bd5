"""The reference for the 95% interval of a mean depth (docs/statistics.md, "Intervals"), computed
from the depths themselves with scipy: the normal interval of the mean (``scipy.stats.norm``) with
the sample variance floored at max_rounds^2 * min(3 / n, 1/4) and the bounds clipped to
[0, max_rounds]; Welch's test (``scipy.stats.ttest_ind_from_stats``) with each side's variance floored
the same way. The tests compare what the database computes (stats.depth_mean_ci_*, migration 0014,
and the marts built on it) with these."""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy import stats


def floored_variance(variance: float | None, n: int, max_rounds: int) -> float:
    """max(s^2, M^2 * min(3 / n, 1/4)); s^2 is None (undefined) for one run."""
    floor = max_rounds ** 2 * min(3 / n, 0.25)
    return floor if variance is None else max(variance, floor)


def sample_variance(depths: Sequence[int]) -> float | None:
    n = len(depths)
    if n < 2:
        return None
    mean = sum(depths) / n
    return sum((d - mean) ** 2 for d in depths) / (n - 1)


def mean_interval(depths: Sequence[int], max_rounds: int) -> tuple[float, float, float]:
    """(low, high, half-width before clipping) of the 95% interval of the mean of ``depths``."""
    n = len(depths)
    mean = sum(depths) / n
    scale = math.sqrt(floored_variance(sample_variance(depths), n, max_rounds) / n)
    low, high = stats.norm.interval(0.95, loc=mean, scale=scale)
    return max(0.0, low), min(float(max_rounds), high), (high - low) / 2


def welch(a: Sequence[int], b: Sequence[int], max_rounds_a: int = 3, max_rounds_b: int = 3) -> dict:
    """Welch's test of mean(a) - mean(b) with floored variances: se, df, p and the 95% interval of the
    difference, clipped to [-max_rounds_b, max_rounds_a]; None for those below 2 runs on a side."""
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:  # no variance on one side: no t-test, no interval (as scipy: nan)
        return {"diff": sum(a) / na - sum(b) / nb, "se": None, "df": None, "p": None, "low": None, "high": None}
    va = floored_variance(sample_variance(a), na, max_rounds_a)
    vb = floored_variance(sample_variance(b), nb, max_rounds_b)
    ma, mb = sum(a) / na, sum(b) / nb
    test = stats.ttest_ind_from_stats(ma, math.sqrt(va), na, mb, math.sqrt(vb), nb, equal_var=False)
    se = math.sqrt(va / na + vb / nb)
    df = (va / na + vb / nb) ** 2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
    low, high = stats.norm.interval(0.95, loc=ma - mb, scale=se)
    return {"diff": ma - mb, "se": se, "df": df, "p": float(test.pvalue),
            "low": max(-float(max_rounds_b), low), "high": min(float(max_rounds_a), high)}
