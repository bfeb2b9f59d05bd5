"""The vLLM backend end to end, where vLLM and a CUDA GPU are present (the 'vllm' extra).

On machines without them this module is skipped as a whole: the default backend is transformers,
and the refusal of ``--backend vllm`` without vLLM is covered in test_cli_bad_input.py.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("vllm")
torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("the vllm backend needs a CUDA GPU", allow_module_level=True)

from tests.cli_helpers import query, run_cli  # noqa: E402


def collect(capsys, dsn, model_dir, seed):
    result = run_cli(capsys, "Aufhebung", "--runs", "8", "--backend", "vllm", "--device", "cuda", "--model",
                     str(model_dir), "--dsn", dsn, "--max-new-tokens", "8", "--seed", str(seed), "--no-iris",
                     "--quiet", "--json")
    assert result.code == 0, result.err
    return json.loads(result.out.strip().splitlines()[-1])["session_id"]


def test_vllm_sessions_store_every_run_with_per_run_seeds(capsys, db_dsn, tiny_model_dir):
    first = collect(capsys, db_dsn, tiny_model_dir, 5)
    again = collect(capsys, db_dsn, tiny_model_dir, 5)
    assert query(db_dsn, "select backend from raw.probe_sessions where session_id = %s", (first,))[0]["backend"] == "vllm"
    rows = "select run_number, seed, chain from raw.variance_probe_runs where session_id = %s order by run_number"
    a, b = query(db_dsn, rows, (first,)), query(db_dsn, rows, (again,))
    assert [r["run_number"] for r in a] == list(range(1, 9))
    assert len({r["seed"] for r in a}) == 8
    # the same session seed on the same machine and batch gives the same chains
    assert [r["chain"] for r in a] == [r["chain"] for r in b]
