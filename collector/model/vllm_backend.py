"""Generation through vLLM (``--backend vllm``): for GPU servers, an optional extra.

Install with ``pip install 'nyx-collector[vllm]'`` on a machine with a CUDA GPU. vLLM only
generates: the judge still embeds completions with the transformers copy of the same weights
(:class:`~collector.model.lm.LanguageModel`), so both share the GPU; vLLM is told to take
``gpu_memory_utilization`` of it (``NYX_VLLM_GPU_MEMORY``, default 0.6) and leave the rest.

Every run keeps its own seed: each request carries ``SamplingParams(seed=...)``, which vLLM turns
into a per-request generator. vLLM's sampler is not the transformers backend's, so the same seed
gives other text on each backend (sessions record which one they used), and vLLM's kernels are not
batch-invariant, so a resumed run may differ from what an uninterrupted session would have drawn.
"""

from __future__ import annotations

import importlib.util
import os
from typing import TYPE_CHECKING

from collector.core.errors import InputError, ModelError, one_line
from collector.core.records import Generation, SamplingParams

if TYPE_CHECKING:
    from collector.model.lm import LanguageModel

BACKENDS = ("transformers", "vllm")
DEFAULT_GPU_MEMORY = 0.6


def check_backend(name: str) -> str:
    """The backend's canonical name; an unknown one, or vllm where it is not installed, is an input error."""
    backend = name.strip().lower()
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {name!r}: use {' or '.join(BACKENDS)}")
    if backend == "vllm" and importlib.util.find_spec("vllm") is None:
        raise InputError("the vllm backend needs vLLM: pip install 'nyx-collector[vllm]' on a machine with a CUDA GPU")
    return backend


def request_options(params: SamplingParams, seed: int) -> dict:
    """Keyword arguments of ``vllm.SamplingParams`` for one run's round (pure, tested without vLLM)."""
    return {
        "n": 1,
        "seed": int(seed),
        "temperature": float(params.temperature),
        "top_p": float(params.top_p) if params.temperature > 0 else 1.0,
        # vLLM: -1 (older) / 0 (newer) both mean no top-k cut; -1 is accepted by every version
        "top_k": int(params.top_k) if params.top_k and params.temperature > 0 else -1,
        "max_tokens": int(params.max_new_tokens),
        "skip_special_tokens": True,
    }


def finish_reason(reason: str | None) -> str:
    """vLLM's finish reason in the probe's terms: ``stop`` (an end-of-sequence token) is ``eos``."""
    return "length" if reason == "length" else "eos"


class VllmSampler:
    """Generates with a vLLM engine over the weights ``lm`` was loaded from."""

    def __init__(self, lm: LanguageModel) -> None:
        check_backend("vllm")
        if not lm.device.startswith("cuda"):
            raise InputError(f"the vllm backend needs a CUDA device, not {lm.device!r}")
        try:
            memory = float(os.environ.get("NYX_VLLM_GPU_MEMORY", DEFAULT_GPU_MEMORY))
        except ValueError:
            raise InputError("NYX_VLLM_GPU_MEMORY must be a fraction such as 0.6") from None
        if not 0.05 <= memory <= 0.95:
            raise InputError(f"NYX_VLLM_GPU_MEMORY must be between 0.05 and 0.95, got {memory}")
        import vllm

        self._vllm = vllm
        try:
            self.engine = vllm.LLM(
                model=str(lm.source.path),
                tokenizer=str(lm.source.path),
                dtype=lm.dtype,
                seed=0,
                gpu_memory_utilization=memory,
                enforce_eager=os.environ.get("NYX_VLLM_EAGER", "") == "1",
            )
        except Exception as e:  # noqa: BLE001 - vLLM raises many kinds
            raise ModelError(f"vLLM could not load {lm.name}: {one_line(e)}") from None

    def __call__(self, prompts: list[str], seeds: list[int], params: SamplingParams) -> list[Generation]:
        if len(prompts) != len(seeds):
            raise ValueError("one seed per prompt")
        if not prompts:
            return []
        requests = [self._vllm.SamplingParams(**request_options(params, s)) for s in seeds]
        outputs = self.engine.generate(prompts, requests, use_tqdm=False)
        result = []
        for out in outputs:
            best = out.outputs[0]
            result.append(Generation(best.text, len(best.token_ids), finish_reason(best.finish_reason)))
        return result
