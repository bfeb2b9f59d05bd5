"""Adding a judge is one module and one registry line: a toy judge, known to nothing but the registry,
collects a session through the real CLI, and is refused like any unknown judge once it is gone."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from collector.core.records import EchoType, JudgeItem
from collector.judge import registry
from collector.judge.classifier import text_features
from collector.judge.judge import Verdict
from tests.cli_helpers import query, run_cli, table_counts

TOY = "toy-1"


class _ToyJudge:
    """One session's toy judge: every round CONFIRMS, against the frame, with no model."""

    judge_version = TOY
    mode = "frame"
    glossary_id = None
    encoder_name = "none (toy judge)"

    def judge(self, items: list[JudgeItem]) -> list[Verdict]:
        return [Verdict(EchoType.CONFIRMS, text_features(i.text, i.history), None, None, reason="toy")
                for i in items]


class _ToyJudges:
    def __init__(self, judge_version: str, lm=None, options: dict | None = None) -> None:
        pass

    def for_term(self, term: str, meaning, glossary_id: int | None) -> _ToyJudge:
        return _ToyJudge()


ENTRY = registry.JudgeEntry(TOY, "every round CONFIRMS (a test's judge)", _ToyJudges, uses_references=False,
                            uses_glosses=False)
"""What a judge's module exposes; the one line that adds it is the register call below."""


@pytest.fixture
def toy_judge() -> Iterator[str]:
    registry.register(ENTRY)
    try:
        yield TOY
    finally:
        registry.unregister(TOY)


def test_a_registered_judge_collects_through_the_cli(capsys, db_dsn, tiny_model_dir, toy_judge):
    result = run_cli(capsys, "Aufhebung", "--runs", "4", "--batch-size", "2", "--max-new-tokens", "4", "--seed", "3",
                     "--model", str(tiny_model_dir), "--dsn", db_dsn, "--judge", toy_judge, "--quiet", "--json")
    assert result.code == 0, result.err
    sid = json.loads(result.out.strip().splitlines()[-1])["session_id"]
    session = query(db_dsn, "select judge_version, judge_mode, encoder from raw.probe_sessions "
                            "where session_id = %s", (sid,))[0]
    assert session == {"judge_version": TOY, "judge_mode": "frame", "encoder": "none (toy judge)"}
    rounds = query(db_dsn, "select echo_type from raw.probe_rounds where session_id = %s", (sid,))
    assert len(rounds) == 4 * 3  # every round CONFIRMS, so every run goes all max_rounds (3) rounds
    assert {r["echo_type"] for r in rounds} == {EchoType.CONFIRMS.value}


def test_an_unregistered_judge_is_refused_like_any_unknown_one(capsys, db_dsn, tiny_model_dir):
    assert TOY not in registry.versions()
    before = table_counts(db_dsn)
    result = run_cli(capsys, "Aufhebung", "--runs", "2", "--model", str(tiny_model_dir), "--dsn", db_dsn,
                     "--judge", TOY, "--quiet")
    assert result.code == 2, result.err
    assert result.err.strip().splitlines() == [
        f"Error: unknown judge {TOY!r}: choose one of {', '.join(registry.versions())}"]
    assert table_counts(db_dsn) == before


def test_the_shipped_judges_come_from_their_modules_in_order_and_a_version_is_claimed_once():
    assert registry.versions()[:4] == ("ref-3", "ref-2", "rules-1", "llm-1")
    assert registry.DEFAULT_JUDGE in registry.versions()
    assert [registry.entry(v).judge_version for v in registry.versions()] == list(registry.versions())
    with pytest.raises(ValueError, match="judge ref-3 is registered already"):
        registry.register(registry.JudgeEntry("ref-3", "an impostor", _ToyJudges))
    assert registry.entry("ref-3").load is not _ToyJudges
