"""How the vLLM backend maps the probe's sampling settings (pure: runs without vLLM installed)."""

import pytest

from collector.core.errors import InputError
from collector.probe.sampling import SamplingParams
from collector.model.vllm_backend import check_backend, finish_reason, request_options


def test_each_request_carries_its_runs_seed_and_the_session_settings():
    params = SamplingParams(temperature=0.8, top_p=0.95, top_k=50, max_new_tokens=48)
    a, b = request_options(params, 11), request_options(params, 12)
    assert (a["seed"], b["seed"]) == (11, 12)
    assert a["temperature"] == 0.8 and a["top_p"] == 0.95 and a["top_k"] == 50 and a["max_tokens"] == 48
    assert a["n"] == 1 and a["skip_special_tokens"] is True


def test_no_top_k_and_greedy():
    assert request_options(SamplingParams(1.0, 0.9, None, 8), 1)["top_k"] == -1
    greedy = request_options(SamplingParams(0.0, 0.9, 50, 8), 1)
    assert greedy["temperature"] == 0.0 and greedy["top_k"] == -1 and greedy["top_p"] == 1.0


def test_finish_reasons_use_the_probes_terms():
    assert finish_reason("length") == "length"
    assert finish_reason("stop") == "eos"
    assert finish_reason(None) == "eos"


def test_backend_names():
    assert check_backend(" Transformers ") == "transformers"
    with pytest.raises(InputError, match="unknown backend"):
        check_backend("tgi")
