"""`analyze --by` names the parts of the settings key that dbt fingerprints: the two lists agree."""

from pathlib import Path

import pytest
import yaml

from collector.core.errors import InputError
from collector.read.reports import SETTINGS_KEY_PARTS, settings_part

REPO = Path(__file__).resolve().parents[2]


def test_the_cli_knows_every_part_dbt_puts_in_the_settings_key():
    project = yaml.safe_load((REPO / "dbt_project.yml").read_text(encoding="utf-8"))
    assert tuple(project["vars"]["settings_parts"]) == SETTINGS_KEY_PARTS


def test_sqlfluff_lints_with_the_same_parts():
    text = (REPO / ".sqlfluff").read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith("settings_parts = "))
    assert tuple(eval(line.split("=", 1)[1])) == SETTINGS_KEY_PARTS  # noqa: S307 - our own config file


@pytest.mark.parametrize("given, part", [("temperature", "temperature"), ("top-p", "top_p"), ("TOP_K", "top_k"),
                                         ("judge", "judge_version"), ("prompt", "prompt_template"),
                                         ("reference", "reference_version")])
def test_by_accepts_parts_and_short_names(given, part):
    assert settings_part(given) == part


@pytest.mark.parametrize("given", ["seed", "", "temperature; drop table x", "batch_size"])
def test_by_refuses_what_is_not_part_of_the_key(given):
    with pytest.raises(InputError, match="--by takes one of"):
        settings_part(given)
