"""A tiny random-weight causal LM for tests, built offline in a fraction of a second.

A byte-level BPE tokenizer (about 400 tokens) trained on a small built-in corpus and a 2-layer
Qwen2 model with hidden size 64, deterministic (fixed seed). Both are saved with
``save_pretrained``, so the directory loads through ``LanguageModel.load(str(directory))``,
the same path as a real model.

Run as ``python -m tests.tiny_model DIR`` to build one by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

SPECIAL = "<|endoftext|>"
VOCAB_SIZE = 400

CORPUS = [
    "The word Aufhebung means sublation: to cancel and to preserve at the same time.",
    "A heartbeat is one contraction of the heart muscle that pumps blood through the body.",
    "A gradient is the vector of partial derivatives of a function.",
    "Duty, obligation and responsibility are close in meaning.",
    "Reason is the faculty of thinking; understanding applies concepts to experience.",
    "The cat sat on the mat and the dog slept by the door.",
    "We walked to the river, sat in the sun and talked about music, books and the weather.",
    "Der Zug nach München hat heute zwanzig Minuten Verspätung.",
    "Die Katze schläft auf dem warmen Fensterbrett in der Sonne.",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000, and symbols like ; : , . ! ? ( ) [ ] # % & * + - = / \\",
    "In machine learning, gradient descent takes small steps against the gradient of the loss.",
    "Heidegger calls it thrownness: we find ourselves already in a world we did not choose.",
]


def build_tiny_model(directory: Path) -> Path:
    """Build the tiny model and its tokenizer into ``directory`` (created if needed) and return it."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GenerationConfig, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=[SPECIAL],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(CORPUS * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token=SPECIAL, eos_token=SPECIAL, pad_token=SPECIAL, unk_token=SPECIAL
    )
    special_id = tokenizer.convert_tokens_to_ids(SPECIAL)

    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=special_id,
        eos_token_id=special_id,
        pad_token_id=special_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1234)
        model = Qwen2ForCausalLM(config).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=special_id, eos_token_id=special_id, pad_token_id=special_id
    )
    from collector.model.source import quiet_transformers

    with quiet_transformers():
        model.save_pretrained(str(directory))
        tokenizer.save_pretrained(str(directory))
    return directory


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.tiny_model DIR")
    print(build_tiny_model(Path(sys.argv[1])))
