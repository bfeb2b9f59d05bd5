"""The intervals `nyx-collect validate` prints: a bootstrap over terms, checked against scipy's
bootstrap where the two must agree and against the round-level bootstrap where they must not."""

from __future__ import annotations

import random

import numpy as np
import pytest
from scipy.stats import bootstrap

from collector.judge.intervals import MIN_TERMS, figures, term_intervals
from collector.judge.validation import LABELS, agreement


def _labels(seed: int, n: int, agree: float) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    gold = [rng.choice(LABELS) for _ in range(n)]
    return gold, [g if rng.random() < agree else rng.choice(LABELS) for g in gold]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_figures_of_a_confusion_matrix_are_those_validate_prints(seed):
    gold, predicted = _labels(seed, 250, 0.6)
    confusion = np.zeros((len(LABELS), len(LABELS)))
    for g, p in zip(gold, predicted):
        confusion[LABELS.index(g), LABELS.index(p)] += 1
    f, a = figures(confusion), agreement(gold, predicted)
    assert float(f["accuracy"]) == pytest.approx(a.accuracy)
    assert float(f["kappa"]) == pytest.approx(a.kappa)
    assert float(f["continue_stop_accuracy"]) == pytest.approx(a.continue_stop_accuracy)
    assert float(f["continue_stop_kappa"]) == pytest.approx(a.continue_stop_kappa)


def test_with_one_round_a_term_it_is_scipys_percentile_bootstrap():
    gold, predicted = _labels(7, 200, 0.7)
    terms = [f"t{k}" for k in range(len(gold))]
    ours = term_intervals(terms, gold, predicted, resamples=20000)
    hit = np.array([g == p for g, p in zip(gold, predicted)], float)
    ref = bootstrap((hit,), np.mean, n_resamples=20000, method="percentile", random_state=1).confidence_interval
    assert ours.accuracy == pytest.approx((ref.low, ref.high), abs=0.01)
    assert ours.accuracy[0] < float(np.mean(hit)) < ours.accuracy[1]


def test_rounds_of_one_term_that_move_together_widen_the_interval():
    """Twelve terms of 20 rounds each, the judge right on every round of six terms and wrong on the
    others: by rounds the set looks like 240 independent draws, by terms it is 12."""
    terms = [f"t{k}" for k in range(12) for _ in range(20)]
    gold = ["EXPANDS"] * len(terms)
    predicted = ["EXPANDS" if int(t[1:]) < 6 else "DIVERGENT" for t in terms]
    by_term = term_intervals(terms, gold, predicted)
    by_round = term_intervals([f"r{k}" for k in range(len(terms))], gold, predicted)
    width = lambda iv: iv.accuracy[1] - iv.accuracy[0]  # noqa: E731
    assert width(by_term) > 2.5 * width(by_round)
    assert by_term.accuracy[0] < 0.3 and by_term.accuracy[1] > 0.7


def test_the_interval_is_the_same_on_every_run_and_moves_with_the_seed():
    gold, predicted = _labels(5, 120, 0.5)
    terms = [f"t{k % 8}" for k in range(len(gold))]
    first, again = term_intervals(terms, gold, predicted), term_intervals(terms, gold, predicted)
    assert first == again
    assert term_intervals(terms, gold, predicted, seed=1).kappa != first.kappa


def test_too_few_terms_or_no_resamples_give_no_interval():
    gold, predicted = _labels(3, 40, 0.5)
    few = [f"t{k % (MIN_TERMS - 1)}" for k in range(len(gold))]
    assert term_intervals(few, gold, predicted) is None
    enough = [f"t{k % MIN_TERMS}" for k in range(len(gold))]
    assert term_intervals(enough, gold, predicted).terms == MIN_TERMS
    assert term_intervals(enough, gold, predicted, resamples=0) is None


def test_a_kappa_no_resample_defines_has_no_interval():
    """Every label and every call the same: chance agreement is 1, kappa undefined, as validate prints '-'."""
    terms = [f"t{k}" for k in range(6) for _ in range(3)]
    same = ["DIVERGENT"] * len(terms)
    iv = term_intervals(terms, same, same)
    assert iv.kappa is None and iv.continue_stop_kappa is None
    assert iv.accuracy == (1.0, 1.0)
