"""Probe throughput for a model *shape*, with random weights: sizing hardware before the weights are there.

    python bench/probe_shapes.py --shape smollm2-135m --device cuda --tokenizer DIR
    python bench/probe_shapes.py --shape qwen2.5-7b --device cuda --tokenizer DIR --batch-sizes 64,256

Builds a decoder of the named shape directly on the device (random bf16 weights, no download), with
a real tokenizer from DIR (for example the SmolLM2 directory in $NYX_CACHE/models; its vocabulary
sets the model's), and runs the collector's own probe (sampling, judge, embeddings) without a
database. Random weights rarely end a sequence or pass the judge, so every run is one full-length
round: the figures are generation and judging costs per round, not chain depths. Prints a table;
not a test. The real-weights harness is bench/run.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from collector.judge.judge import Judge  # noqa: E402
from collector.model.lm import LanguageModel  # noqa: E402
from collector.model.source import ModelSource  # noqa: E402
from collector.probe.echo import Probe  # noqa: E402
from collector.core.records import SessionRecord  # noqa: E402
from collector.probe.sampling import SamplingParams, generate  # noqa: E402

SHAPES = {
    # hidden, intermediate, layers, heads, kv heads, tied embeddings, family
    "smollm2-135m": (576, 1536, 30, 9, 3, True, "llama"),
    "qwen2.5-0.5b": (896, 4864, 24, 14, 2, True, "qwen2"),
    "qwen2.5-7b": (3584, 18944, 28, 28, 4, False, "qwen2"),
}


def build(shape: str, tokenizer_dir: Path, device: str, dtype: str) -> LanguageModel:
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    hidden, inter, layers, heads, kv, tied, family = SHAPES[shape]
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    common = dict(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
                  num_attention_heads=heads, num_key_value_heads=kv, tie_word_embeddings=tied,
                  max_position_embeddings=4096, bos_token_id=tokenizer.bos_token_id,
                  eos_token_id=tokenizer.eos_token_id)
    config = LlamaConfig(**common) if family == "llama" else Qwen2Config(**common)
    torch_dtype = {"bfloat16": torch.bfloat16, "float32": torch.float32, "float16": torch.float16}[dtype]
    with torch.device(device):
        model = (LlamaForCausalLM if family == "llama" else Qwen2ForCausalLM)(config).to(torch_dtype)
    model.eval()
    if device.startswith("cuda"):
        torch.backends.cuda.enable_cudnn_sdp(False)  # as LanguageModel.load does on cuda
    params = sum(p.numel() for p in model.parameters())
    print(f"{shape}: {params / 1e6:.0f}M parameters, vocabulary {config.vocab_size}, {dtype} on {device}", flush=True)
    source = ModelSource(path=tokenizer_dir, name=f"random-{shape}", revision=f"random-{shape}")
    return LanguageModel(model, tokenizer, source, device, dtype)


def session(lm: LanguageModel, runs: int, batch: int, max_new_tokens: int) -> SessionRecord:
    return SessionRecord(term="Aufhebung", model_name=lm.name, model_revision=lm.revision, device=lm.device,
                         dtype=lm.dtype, prompt_template='The word "{term}" means', temperature=0.8, top_p=0.95,
                         top_k=50, max_rounds=3, max_new_tokens=max_new_tokens, seed=1, batch_size=batch,
                         runs_requested=runs, collector_version="bench", judge_version="bench",
                         hostname="bench", pid=0)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def measure(lm: LanguageModel, judge: Judge, runs: int, batch: int, max_new_tokens: int) -> dict:
    probe = Probe(lm, judge, session(lm, runs, batch, max_new_tokens))
    spent = {"generation": 0.0, "classification": 0.0}

    def timed(name, fn):
        def wrapper(*args):
            sync(lm.device)
            started = time.perf_counter()
            try:
                return fn(*args)
            finally:
                sync(lm.device)
                spent[name] += time.perf_counter() - started
        return wrapper

    probe.sampler = timed("generation", probe.sampler)
    judge_fn = judge.judge
    judge.judge = timed("classification", judge_fn)
    started = time.perf_counter()
    records = [r for finished in probe.run(range(1, runs + 1), batch) for r in finished]
    wall = time.perf_counter() - started
    judge.judge = judge_fn
    tokens = sum(rd.tokens_generated for r in records for rd in r.rounds)
    rounds = sum(len(r.rounds) for r in records)
    return dict(runs=runs, batch=batch, wall=wall, tokens=tokens, rounds=rounds, **spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="smollm2-135m")
    parser.add_argument("--tokenizer", type=Path, required=True, help="directory with a tokenizer")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--batch-sizes", default="64,256")
    parser.add_argument("--runs", type=int, default=512, help="runs per batched measurement")
    parser.add_argument("--sequential-runs", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    args = parser.parse_args()

    lm = build(args.shape, args.tokenizer, args.device, args.dtype)
    judge = Judge(lm)
    measure(lm, judge, 4, 4, 8)  # warm-up: kernels, allocator, embedding memo
    rows = [measure(lm, judge, args.sequential_runs, 1, args.max_new_tokens)]
    rows += [measure(lm, judge, args.runs, int(b), args.max_new_tokens) for b in args.batch_sizes.split(",")]
    print("| batch | runs | rounds | wall s | runs/s | tokens/s | generation | classification | other |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        other = r["wall"] - r["generation"] - r["classification"]
        print(f"| {r['batch']} | {r['runs']} | {r['rounds']} | {r['wall']:.1f} | {r['runs'] / r['wall']:.2f} | "
              f"{r['tokens'] / r['wall']:.0f} | {100 * r['generation'] / r['wall']:.1f}% | "
              f"{100 * r['classification'] / r['wall']:.1f}% | {100 * other / r['wall']:.1f}% |")
    base = rows[0]["runs"] / rows[0]["wall"]
    for r in rows[1:]:
        print(f"batch {r['batch']}: {r['runs'] / r['wall'] / base:.1f}x the sequential runs/s")
    batch = int(args.batch_sizes.split(",")[-1])
    sampling = SamplingParams(0.8, 0.95, 50, args.max_new_tokens)
    prompt = 'The word "Aufhebung" means'
    sync(lm.device)
    started = time.perf_counter()
    out = generate(lm, [prompt] * batch, list(range(batch)), sampling)
    sync(lm.device)
    print(f"raw batched generate, batch {batch}: {sum(g.tokens for g in out) / (time.perf_counter() - started):.0f} "
          f"tokens/s", flush=True)
    # does a row's text depend on its batch neighbours? (on CPU in float32 it does not)
    seeds = list(range(100, 116))
    together = generate(lm, [prompt] * len(seeds), seeds, sampling)
    alone = [generate(lm, [prompt], [s], sampling)[0] for s in seeds]
    same = sum(a.text == b.text for a, b in zip(together, alone, strict=True))
    print(f"batch invariance: {same} of {len(seeds)} rows identical generated together and alone", flush=True)
    if args.device.startswith("cuda"):
        print(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()
