"""Accuracy of the echo classifier on the hand-labelled development set, through the real model.

SmolLM2-135M-Instruct is loaded the way the collector loads it (``LanguageModel.load(None)``) and
the :class:`~collector.judge.judge.Judge` classifies all items of ``echo_labelled.jsonl`` (``NYX_DEVSET``
overrides its location; by default ``shared/research/`` next to the repository). Prints the
accuracy and the confusion matrix (``pytest -s`` shows them).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from collector.judge.judge import Judge, JudgeItem
from collector.core.records import EchoType

pytestmark = [pytest.mark.smollm2, pytest.mark.slow]

MIN_ACCURACY = 0.85
LABELS = [t.value for t in EchoType]


def devset_path() -> Path:
    env = os.environ.get("NYX_DEVSET")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared/research/echo_labelled.jsonl"


def load_devset() -> list[dict]:
    path = devset_path()
    if not path.is_file():
        pytest.skip(f"development set not found: {path} (set NYX_DEVSET)")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def confusion_table(gold: list[str], pred: list[str]) -> str:
    width = max(map(len, LABELS)) + 1
    lines = ["gold \\ predicted".ljust(width) + "".join(label[:5].rjust(7) for label in LABELS)]
    for g in LABELS:
        row = [sum(1 for a, b in zip(gold, pred, strict=True) if a == g and b == p) for p in LABELS]
        lines.append(g.ljust(width) + "".join(str(n).rjust(7) for n in row))
    return "\n".join(lines)


def test_devset_accuracy(smollm2) -> None:
    items = load_devset()
    judge_items = [
        JudgeItem(
            anchor=f'The word "{it["term"]}" means',
            prev=it["prev"],
            text=it["text"],
            history=[it["term"], it["prev"]],
        )
        for it in items
    ]
    verdicts = Judge(smollm2).judge(judge_items)
    gold = [it["label"] for it in items]
    pred = [v.echo_type.value for v in verdicts]
    correct = sum(g == p for g, p in zip(gold, pred, strict=True))
    accuracy = correct / len(items)

    print(
        f"\ndevset accuracy {accuracy:.3f} ({correct}/{len(items)})"
        f" with {smollm2.name} {smollm2.revision} {smollm2.dtype} on {smollm2.device}"
    )
    print(confusion_table(gold, pred))
    for it, v in zip(items, verdicts, strict=True):
        if v.echo_type.value != it["label"]:
            print(
                f"  miss {it.get('id', it['term'])}: {it['label']} -> {v.echo_type.value} "
                f"sim_term={v.sim_term:.3f} sim_prev={v.sim_prev:.3f} new_stems={v.text.new_stems} "
                f"novelty={v.text.novelty:.2f}"
            )
    assert accuracy >= MIN_ACCURACY
