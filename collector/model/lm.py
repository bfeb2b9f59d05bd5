"""The probe model: a causal LM with its tokenizer, and text embeddings from its own hidden states.

Embeddings follow the calibration in the research notes (``echo-probe-notes.md``):

* one fixed token (the tokenizer's BOS, else EOS) is prepended to every text and left out of
  pooling: the first position is an attention sink whose hidden state dwarfs all others;
* two poolings: the mean over the text's tokens at a middle layer (``round(2/3 * layers)``) and
  the last token at the last layer (after the final norm);
* each pooling is z-scored per dimension against a reference corpus of about 100 varied short
  texts (``collector/data/reference_texts.txt``), which removes the anisotropy of raw states;
* the similarity of two texts is the mean of the two cosines.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch

from collector.core.errors import InputError, ModelError, one_line
from collector.model.source import ModelSource, quiet_transformers, resolve_model
from collector.core.paths import cache_dir

log = logging.getLogger(__name__)

EMBEDDING_VERSION = "2"
"""Bump when pooling or calibration changes; part of the calibration cache key."""

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
DEFAULT_BATCH_SIZES = {"cpu": 128, "cuda": 256, "mps": 32}
"""Runs generated side by side when --batch-size is not given. On 2 CPU cores with SmolLM2-135M
(float32) raw generation ran at 13 tokens/s at batch 1, 183 at 64 and 232-259 at 128, and a
collection at batch 128 peaked at about 1.8 GB RSS (bench/run.py; docs/performance.md)."""
EMBED_MAX_TOKENS = 512
"""Texts are cut to this many tokens before embedding."""
EMBED_TOKEN_BUDGET = 8192
"""At most this many padded tokens per embedding forward pass (bounds the hidden-state memory)."""
EMBED_WIDTH_STEP = 16
"""Each text is embedded padded to its own width: its tokens and the sink, rounded up to a multiple
of this. A text's hidden states differ in the last bits with the padded width of its batch (the
rows beside it do not change them), so with a width of its own its embedding is the same whatever
texts share its batch: a resumed session's similarities equal an uninterrupted one's, bit for bit
(CPU, float32; measured in tests/integration/test_resume.py)."""
EMBED_MEMO_SIZE = 2048
"""Pooled vectors of the most recent texts are kept in memory: a round's previous texts are the
texts the round before embedded, so each round only runs the model over its new completions."""
CALIBRATION_CACHE_SECONDS = 1.0
"""Calibration statistics that took longer than this to compute are cached on disk."""


@dataclass(frozen=True)
class Embeddings:
    """Z-scored embeddings of a list of texts (float32, CPU).

    ``mean`` holds the mean pooling at the middle layer, ``last`` the last-token pooling at the
    last layer, one row per text. ``valid[i]`` is False for a text with no tokens (empty or
    whitespace only); its rows are zero.
    """

    mean: torch.Tensor
    last: torch.Tensor
    valid: tuple[bool, ...]

    def __len__(self) -> int:
        return len(self.valid)

    def take(self, rows: list[int]) -> Embeddings:
        """The embeddings of the given rows, in that order."""
        index = torch.tensor(rows, dtype=torch.long)
        return Embeddings(self.mean[index], self.last[index], tuple(self.valid[i] for i in rows))


def similarity(a: Embeddings, b: Embeddings) -> list[float | None]:
    """Row i of ``a`` against row i of ``b``: the mean of the two cosines, None if either text is empty."""
    if len(a) != len(b):
        raise ValueError(f"cannot compare {len(a)} embeddings with {len(b)}")
    if not len(a):
        return []
    cos_mean = torch.nn.functional.cosine_similarity(a.mean, b.mean, dim=1)
    cos_last = torch.nn.functional.cosine_similarity(a.last, b.last, dim=1)
    both = ((cos_mean + cos_last) / 2).tolist()
    return [s if va and vb else None for s, va, vb in zip(both, a.valid, b.valid, strict=True)]


@dataclass(frozen=True)
class _Calibration:
    mean_mu: torch.Tensor
    mean_sd: torch.Tensor
    last_mu: torch.Tensor
    last_sd: torch.Tensor


class LanguageModel:
    """A loaded causal LM (eval mode) with its tokenizer, metadata and embedding helpers."""

    def __init__(self, model, tokenizer, source: ModelSource, device: str, dtype: str) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.source = source
        self.name = source.name
        self.revision = source.revision
        self.device = device
        self.dtype = dtype
        config = model.config.get_text_config()
        self.num_layers: int = int(config.num_hidden_layers)
        self.hidden_size: int = int(config.hidden_size)
        self.mean_layer: int = max(1, round(2 * self.num_layers / 3))
        """Mean pooling reads the output of this decoder layer (1-based; hidden_states[mean_layer])."""
        self.last_layer: int = self.num_layers
        """Last-token pooling reads the last layer's output after the final norm."""
        self.default_batch_size: int = DEFAULT_BATCH_SIZES.get(device.split(":")[0], 64)

        if tokenizer.pad_token is None:
            if tokenizer.eos_token is None:
                raise ModelError(f"the tokenizer of {source.name} has neither a pad nor an eos token")
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"
        self.pad_token_id: int = int(tokenizer.pad_token_id)
        self.eos_token_ids: set[int] = _eos_ids(model, tokenizer)
        if not self.eos_token_ids:
            raise ModelError(f"{source.name} defines no end-of-sequence token")
        if getattr(model, "generation_config", None) is not None:
            model.generation_config.pad_token_id = self.pad_token_id
        sink = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else min(self.eos_token_ids)
        self.sink_token_id: int = int(sink)
        self._memo: OrderedDict[str, tuple[torch.Tensor, torch.Tensor]] = OrderedDict()
        self._calibration = self._calibrate()

    @classmethod
    def load(cls, spec: str | None, *, device: str = "auto", dtype: str = "auto") -> LanguageModel:
        """Resolve ``spec`` (see :func:`~collector.model.source.resolve_model`) and load it.

        ``device``: ``auto`` (cuda, else mps, else cpu), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        ``dtype``: ``auto`` (bfloat16 on cuda where supported, float16 on mps, float32 on cpu),
        ``float32``, ``bfloat16`` or ``float16``.
        """
        device = resolve_device(device)
        dtype = resolve_dtype(dtype, device)
        source = resolve_model(spec)
        if device.startswith("cuda"):
            # cuDNN attention plans one graph per sequence length, and every decode step has a new
            # one: on an H200 that was ~0.8 ms of CPU per attention call and a 4x slower first
            # pass. Flash / memory-efficient attention have no such plan step.
            torch.backends.cuda.enable_cudnn_sdp(False)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        started = time.monotonic()
        try:
            with quiet_transformers():
                tokenizer = AutoTokenizer.from_pretrained(str(source.path))
                model = AutoModelForCausalLM.from_pretrained(
                    str(source.path),
                    dtype=DTYPES[dtype],
                    device_map=None if device == "cpu" else {"": device},
                )
        except Exception as e:  # noqa: BLE001 - transformers raises many kinds
            raise ModelError(f"could not load model {source.name!r}: {one_line(e)}") from None
        model.eval()
        log.info(
            "loaded %s (%s, %s on %s) in %.1f s",
            source.name,
            source.revision,
            dtype,
            device,
            time.monotonic() - started,
        )
        return cls(model, tokenizer, source, device, dtype)

    # ---------------------------------------------------------------- embeddings

    def embed(self, texts: list[str], batch_size: int | None = None) -> Embeddings:
        """Z-scored embeddings of ``texts`` (one row each; see the module docstring)."""
        mean, last, valid = self._pooled(texts, batch_size)
        c = self._calibration
        mean = (mean - c.mean_mu) / c.mean_sd
        last = (last - c.last_mu) / c.last_sd
        mask = torch.tensor(valid, dtype=torch.bool)[:, None]
        return Embeddings(mean * mask, last * mask, tuple(valid))

    def similarity(self, a: Embeddings, b: Embeddings) -> list[float | None]:
        """Elementwise similarity of two embedding lists (see :func:`similarity`)."""
        return similarity(a, b)

    def _pooled(self, texts: list[str], batch_size: int | None) -> tuple[torch.Tensor, torch.Tensor, list[bool]]:
        """Raw (not z-scored) poolings of ``texts``, float32 on CPU, and which texts had tokens."""
        keys = [t.strip() for t in texts]
        mean = torch.zeros(len(texts), self.hidden_size)
        last = torch.zeros(len(texts), self.hidden_size)
        valid = [bool(k) for k in keys]
        todo: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            if not key:
                continue
            hit = self._memo.get(key)
            if hit is None:
                todo.setdefault(key, []).append(i)
            else:
                self._memo.move_to_end(key)
                mean[i], last[i] = hit
        if todo:
            unique = list(todo)
            encoded = [self.tokenizer(k, add_special_tokens=False)["input_ids"][:EMBED_MAX_TOKENS] for k in unique]
            m, la = self._run_batches(encoded, batch_size)
            for j, key in enumerate(unique):
                if not encoded[j]:
                    for i in todo[key]:
                        valid[i] = False
                    continue
                for i in todo[key]:
                    mean[i], last[i] = m[j], la[j]
                self._memo[key] = (m[j].clone(), la[j].clone())
            while len(self._memo) > EMBED_MEMO_SIZE:
                self._memo.popitem(last=False)
        return mean, last, valid

    def _run_batches(self, encoded: list[list[int]], batch_size: int | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Poolings of tokenized texts (zero rows for empty ones), batched by padded width."""
        mean = torch.zeros(len(encoded), self.hidden_size)
        last = torch.zeros(len(encoded), self.hidden_size)
        by_width: dict[int, list[int]] = {}
        for i in sorted((i for i in range(len(encoded)) if encoded[i]), key=lambda i: len(encoded[i])):
            by_width.setdefault(_padded_width(len(encoded[i])), []).append(i)
        for width, order in by_width.items():
            rows = max(1, min(batch_size or self.default_batch_size, EMBED_TOKEN_BUDGET // width))
            for start in range(0, len(order), rows):
                batch = order[start:start + rows]
                m, la = self._forward_pool([encoded[i] for i in batch], width)
                index = torch.tensor(batch, dtype=torch.long)
                mean[index] = m
                last[index] = la
        return mean, last

    @torch.inference_mode()
    def _forward_pool(self, ids: list[list[int]], width: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One forward pass: the sink token, then each text, right-padded to ``width`` (default: the
        longest; causal: pads are never attended)."""
        lengths = torch.tensor([len(x) + 1 for x in ids])
        width = max(int(lengths.max()), width or 0)
        input_ids = torch.full((len(ids), width), self.pad_token_id, dtype=torch.long)
        attention = torch.zeros((len(ids), width), dtype=torch.long)
        for row, x in enumerate(ids):
            input_ids[row, 0] = self.sink_token_id
            input_ids[row, 1 : len(x) + 1] = torch.tensor(x, dtype=torch.long)
            attention[row, : len(x) + 1] = 1
        base = self.model.base_model  # the decoder without the LM head: no vocabulary-sized logits
        # Keep only the two layers the poolings read (a hook on the middle layer, the final normed
        # output for the last), not all hidden states: at a full token budget those were ~600 MB.
        layers = getattr(base, "layers", None) or getattr(base, "h", None)
        captured: list[torch.Tensor] = []
        hook = None
        if layers is not None and len(layers) == self.num_layers:
            hook = layers[self.mean_layer - 1].register_forward_hook(
                lambda _module, _inputs, output: captured.append(output[0] if isinstance(output, tuple) else output)
            )
        try:
            out = base(
                input_ids=input_ids.to(self.model.device),
                attention_mask=attention.to(self.model.device),
                output_hidden_states=hook is None,
                use_cache=False,
            )
        finally:
            if hook is not None:
                hook.remove()
        middle = (captured[-1] if hook is not None else out.hidden_states[self.mean_layer]).float()
        final = out.last_hidden_state
        device = middle.device
        text_mask = attention.to(device).clone()
        text_mask[:, 0] = 0  # leave the sink out
        weights = text_mask[:, :, None].float()
        mean = (middle * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        last = final[torch.arange(len(ids), device=device), lengths.to(device) - 1].float()
        return mean.cpu(), last.cpu()

    # ---------------------------------------------------------------- calibration

    def _calibrate(self) -> _Calibration:
        """Per-dimension mean and std of both poolings over the reference corpus (cached if slow)."""
        corpus = reference_texts()
        digest = hashlib.sha256("\n".join(corpus).encode()).hexdigest()[:16]
        key = hashlib.sha256(
            f"{EMBEDDING_VERSION}|{self.revision}|{self.mean_layer}|{self.last_layer}|{self.sink_token_id}"
            f"|{self.dtype}|{self.device.split(':')[0]}|{digest}".encode()
        ).hexdigest()[:24]
        path = cache_dir() / "calibration" / f"{key}.pt"
        cached = _read_calibration(path)
        if cached is not None:
            return cached
        started = time.monotonic()
        encoded = [self.tokenizer(t, add_special_tokens=False)["input_ids"][:EMBED_MAX_TOKENS] for t in corpus]
        keep = torch.tensor([bool(ids) for ids in encoded])
        mean, last = self._run_batches(encoded, None)
        mean, last = mean[keep], last[keep]
        calibration = _Calibration(
            mean_mu=mean.mean(0),
            mean_sd=mean.std(0, correction=0).clamp(min=1e-6),
            last_mu=last.mean(0),
            last_sd=last.std(0, correction=0).clamp(min=1e-6),
        )
        elapsed = time.monotonic() - started
        log.info("calibrated embeddings on %d reference texts in %.1f s", len(corpus), elapsed)
        if elapsed > CALIBRATION_CACHE_SECONDS:
            _write_calibration(path, calibration)
        return calibration


def reference_texts() -> list[str]:
    """The reference corpus used to z-score embeddings (one text per line)."""
    text = resources.files("collector").joinpath("data/reference_texts.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def resolve_device(device: str) -> str:
    """``auto`` becomes cuda, else mps, else cpu; an explicit device must exist."""
    device = device.strip().lower()
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    kind = device.split(":")[0]
    if kind not in ("cpu", "cuda", "mps"):
        raise InputError(f"unknown device {device!r}: use auto, cpu, cuda, cuda:N or mps")
    if kind == "cuda" and not torch.cuda.is_available():
        raise InputError("device 'cuda' is not available on this machine")
    if kind == "mps" and not torch.backends.mps.is_available():
        raise InputError("device 'mps' is not available on this machine")
    return device


def resolve_dtype(dtype: str, device: str) -> str:
    """``auto`` becomes float32 on cpu, bfloat16 on cuda (float16 without bf16 support) and
    float16 on mps.

    float32 on every CPU, for reproducibility: there a run's text depends only on its seed, not on
    its batch neighbours, so the same seed gives the same chains at any batch size and a resumed
    session equals the uninterrupted one. ``bfloat16`` is an opt-in: on CPUs with native bf16 (AMX,
    AVX-512 BF16) it generated 1.6x faster (SmolLM2, 128 runs at batch 128: 51.1 s against 81.4 s),
    but its matrix kernels make a row's text depend on the rows beside it; on CPUs without it (AVX2
    only) it ran 4x slower.
    """
    dtype = dtype.strip().lower()
    if dtype == "auto":
        kind = device.split(":")[0]
        if kind == "cuda":
            return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        if kind == "mps":
            return "float16"
        return "float32"
    if dtype not in DTYPES:
        raise InputError(f"unknown dtype {dtype!r}: use auto, float32, bfloat16 or float16")
    return dtype


def _padded_width(n_tokens: int) -> int:
    """The width a text of ``n_tokens`` tokens is embedded at (see EMBED_WIDTH_STEP)."""
    return -(-(n_tokens + 1) // EMBED_WIDTH_STEP) * EMBED_WIDTH_STEP


def _eos_ids(model, tokenizer) -> set[int]:
    ids: set[int] = set()
    config = getattr(model, "generation_config", None)
    value = getattr(config, "eos_token_id", None) if config is not None else None
    for v in value if isinstance(value, (list, tuple, set)) else [value]:
        if v is not None:
            ids.add(int(v))
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    return ids


def _read_calibration(path: Path) -> _Calibration | None:
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
        return _Calibration(data["mean_mu"], data["mean_sd"], data["last_mu"], data["last_sd"])
    except Exception:  # noqa: BLE001 - a missing or damaged cache is recomputed
        return None


def _write_calibration(path: Path, c: _Calibration) -> None:
    """Write atomically; a cache that cannot be written is only logged."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"mean_mu": c.mean_mu, "mean_sd": c.mean_sd, "last_mu": c.last_mu, "last_sd": c.last_sd}, tmp)
        os.replace(tmp, path)
    except OSError as e:
        log.warning("could not cache the embedding calibration in %s: %s", path, e)
        tmp.unlink(missing_ok=True)
