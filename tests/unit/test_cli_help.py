"""The --judge help is written by hand; it must name every judge the registry ships, the default first."""

from __future__ import annotations

import re

from collector.face.options import JUDGE_HELP
from collector.judge import registry


def test_the_judge_help_names_every_shipped_judge_and_the_default_first():
    named = re.findall(r"\b((?:ref|rules|llm)-\d+)\b", JUDGE_HELP)
    assert set(named) == set(registry.versions())
    assert named[0] == registry.DEFAULT_JUDGE and "the default" in JUDGE_HELP.split(",")[0]
