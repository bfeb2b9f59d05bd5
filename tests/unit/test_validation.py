"""The agreement figures of `nyx-collect validate`, against statsmodels as the reference."""

from __future__ import annotations

import random

import numpy as np
import pytest
from statsmodels.stats.inter_rater import cohens_kappa

from collector.judge.validation import LABELS, agreement, cohen_kappa


def _reference_kappa(gold, predicted):
    table = np.array([[sum(1 for g, p in zip(gold, predicted) if g == a and p == b) for b in LABELS] for a in LABELS])
    return cohens_kappa(table, return_results=False)


@pytest.mark.parametrize("seed, n, agree", [(1, 12, 0.5), (2, 48, 0.7), (3, 400, 0.3), (4, 2000, 0.9)])
def test_kappa_and_accuracy_match_statsmodels(seed, n, agree):
    rng = random.Random(seed)
    gold = [rng.choice(LABELS) for _ in range(n)]
    predicted = [g if rng.random() < agree else rng.choice(LABELS) for g in gold]
    result = agreement(gold, predicted)
    assert result.n == n
    assert result.accuracy == pytest.approx(sum(g == p for g, p in zip(gold, predicted)) / n)
    assert result.kappa == pytest.approx(_reference_kappa(gold, predicted), abs=1e-12)
    assert sum(sum(row.values()) for row in result.confusion.values()) == n
    for label in LABELS:
        tp = sum(1 for g, p in zip(gold, predicted) if g == p == label)
        support = gold.count(label)
        assert result.per_class[label].support == support
        if support:
            assert result.per_class[label].recall == pytest.approx(tp / support)


def test_continue_stop_accuracy_counts_only_the_decision_that_sets_depth():
    gold = ["EXPANDS", "CONFIRMS", "DIVERGENT", "COLLAPSE", "CIRCULAR"]
    predicted = ["CONFIRMS", "EXPANDS", "COLLAPSE", "CIRCULAR", "EXPANDS"]  # 4 of 5 decisions right
    result = agreement(gold, predicted)
    assert result.accuracy == 0.0
    assert result.continue_stop_accuracy == pytest.approx(0.8)


def test_kappa_is_none_when_chance_agreement_is_certain_and_agreement_refuses_mismatched_input():
    assert cohen_kappa(["DIVERGENT"] * 5, ["DIVERGENT"] * 5) is None
    assert agreement(["DIVERGENT"] * 5, ["DIVERGENT"] * 5).accuracy == 1.0
    with pytest.raises(ValueError):
        agreement(["EXPANDS"], [])
    with pytest.raises(ValueError):
        agreement([], [])
