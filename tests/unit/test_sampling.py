"""The token picker: greedy at temperature 0, top-k and top-p cut the tail, uniforms map by CDF."""

import pytest
import torch

from collector.core.errors import ModelError
from collector.probe.sampling import SamplingParams, _pick_tokens
from collector.probe.seeds import round_seed, run_seed


def params(**kw):
    base = dict(temperature=1.0, top_p=1.0, top_k=None, max_new_tokens=4)
    return SamplingParams(**{**base, **kw})


LOGITS = torch.log(torch.tensor([[0.1, 0.6, 0.3, 0.0001]]))


def test_greedy_ignores_uniforms():
    for u in (0.0, 0.5, 0.999):
        assert _pick_tokens(LOGITS, torch.tensor([u]), params(temperature=0)).item() == 1


def test_inverse_cdf_over_sorted_probabilities():
    # sorted: token1 0.6, token2 0.3, token0 0.1
    pick = lambda u: _pick_tokens(LOGITS, torch.tensor([u]), params()).item()  # noqa: E731
    assert pick(0.1) == 1
    assert pick(0.7) == 2
    assert pick(0.95) == 0


def test_top_k_and_top_p_cut_the_tail():
    assert _pick_tokens(LOGITS, torch.tensor([0.99]), params(top_k=2)).item() == 2
    assert _pick_tokens(LOGITS, torch.tensor([0.99]), params(top_p=0.5)).item() == 1
    assert _pick_tokens(LOGITS, torch.tensor([0.99]), params(top_p=0.8)).item() == 2


def test_rows_are_independent():
    logits = LOGITS.repeat(3, 1)
    picks = _pick_tokens(logits, torch.tensor([0.1, 0.7, 0.95]), params()).tolist()
    assert picks == [1, 2, 0]


def test_seed_derivation_is_stable_and_distinct():
    assert run_seed(7, 1) == run_seed(7, 1)
    assert len({run_seed(7, n) for n in range(1, 1001)}) == 1000
    assert run_seed(7, 1) != run_seed(8, 1)
    assert round_seed(run_seed(7, 1), 1) != round_seed(run_seed(7, 1), 2)
    assert 0 <= run_seed(2**63 - 1, 5) < 2**63


NON_FINITE = [
    ("NaN in a row", [[0.1, float("nan"), 0.3]]),
    ("+inf in a row", [[0.1, float("inf"), 0.3]]),
    ("a row of -inf", [[float("-inf")] * 3]),
    ("NaN in the second row", [[0.1, 0.2, 0.3], [float("nan")] * 3]),
]


@pytest.mark.parametrize("case, rows", NON_FINITE, ids=[c[0] for c in NON_FINITE])
@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_non_finite_logits_are_refused_not_sampled(case, rows, temperature):
    logits = torch.tensor(rows)
    with pytest.raises(ModelError, match="non-finite logits"):
        _pick_tokens(logits, torch.full((len(rows),), 0.5), params(temperature=temperature))


def test_a_tiny_temperature_overflows_and_is_refused():
    """At 1e-300 every logit divided by the temperature is +-inf: garbage was sampled and stored."""
    with pytest.raises(ModelError, match="temperature 1e-300"):
        _pick_tokens(LOGITS, torch.tensor([0.5]), params(temperature=1e-300))


def test_minus_infinity_beside_finite_logits_is_a_masked_token():
    logits = torch.tensor([[float("-inf"), 2.0, 1.0]])
    assert _pick_tokens(logits, torch.tensor([0.99]), params(top_k=None)).item() in (1, 2)
