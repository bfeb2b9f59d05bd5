"""The committed held-out sets of the judge (docs/validity.md, "Held-out checks") are what the page says
they are: readable by ``nyx-collect validate``, two readers' labels on every row, and, for the unseen-terms
set, terms that no training, development or other held-out set of the project holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collector.judge.validation import LABELS, read_labelled, read_references

REPO = Path(__file__).resolve().parents[2]
UNSEEN = {model: REPO / "bench" / f"unseen_{model}.jsonl" for model in ("qwen", "smollm2")}
UNSEEN_TERMS = REPO / "bench" / "unseen_terms.jsonl"


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _project_terms() -> set[str]:
    """Every term of the fit (its glosses name all 32 training terms), of our other held-out sets and of
    the development set (the ladder's champions)."""
    terms = {r["term"] for r in _rows(REPO / "collector/judge/data/fit_glosses.jsonl")}
    terms |= {r["term"] for r in _rows(REPO / "collector/judge/data/echo_real_more_qwen.jsonl")}
    terms |= {r["term"] for r in _rows(REPO / "bench/ladder_chains.jsonl")}
    return terms


@pytest.mark.parametrize("model", sorted(UNSEEN))
def test_the_unseen_terms_sets_are_labelled_by_two_readers_on_new_terms(model):
    rows = _rows(UNSEEN[model])
    items = read_labelled(UNSEEN[model])  # what validate reads, every row with its second label
    assert len(items) == len(rows) and all(i.label_b in LABELS for i in items)
    assert len({r["id"] for r in rows}) == len(rows) and {r["model"] for r in rows} == {model}
    references = read_references(UNSEEN_TERMS)
    terms = {r["term"] for r in rows}
    assert terms == set(references) and len(terms) == 12
    assert not terms & _project_terms()
    # full chains: every run has its three rounds, each answering the previous text (an empty completion
    # leaves the text it answered in place)
    by_run: dict = {}
    for r in rows:
        by_run.setdefault((r["term"], r["run"]), {})[r["round"]] = r
    for chain in by_run.values():
        assert sorted(chain) == [1, 2, 3]
        assert chain[1]["prev"] == f'The word "{chain[1]["term"]}" means'
        for n in (2, 3):
            answered = chain[n - 1]["text"].strip() or chain[n - 1]["prev"].strip()
            assert chain[n]["prev"].strip() == answered
