"""stats, analyze and power (text and --png) of terms and a model directory that are markup, mathtext
or terminal escapes: collected with the tiny model, the marts built by the real dbt, printed as typed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest

from tests.cli_helpers import HOSTILE_DIR, HOSTILE_SHOWN, assert_clean, run_cli
from tests.conftest import _unique, create_database, drop_database
from tests.dbt_helpers import run_dbt

MARKUP_TERMS = ["[/]", "[bold red]Rot[/bold red]"]
MATH_TERMS = ["price $x^{ and $", "$\\undefinedmacro{x}$"]
MARKUP_TEMPLATE = "[/]{term} [bold]means"
MARKUP_DIR = ("a[", "]b[bold]")  # the model directory a[/]b[bold]


@pytest.fixture(scope="module")
def printed_db(pg_dsn: str, template_db: str, tiny_model_dir, tmp_path_factory) -> Iterator[dict]:
    """Sessions of MARKUP_TERMS and MATH_TERMS, collected by the tiny model from a directory whose
    name holds an escape sequence, and two of Wille from the directory MARKUP_DIR, with the default
    prompt template and with MARKUP_TEMPLATE; the marts built by `dbt run`."""
    name = _unique("printed")
    dsn = create_database(pg_dsn, name, template=template_db)
    models = tmp_path_factory.mktemp("models")
    model = str(shutil.copytree(tiny_model_dir, models / HOSTILE_DIR))
    markup_model = str(shutil.copytree(tiny_model_dir, models.joinpath(*MARKUP_DIR)))
    try:
        sessions = {}
        for model_dir, argv in ((model, [*MARKUP_TERMS, *MATH_TERMS]), (markup_model, ["Wille"]),
                                (markup_model, ["Wille", "--prompt-template", MARKUP_TEMPLATE])):
            collected = run_cli(None, *argv, "--runs", "8", "--batch-size", "8", "--max-new-tokens", "4",
                                "--seed", "3", "--model", model_dir, "--dsn", dsn, "--quiet", "--json", "--no-iris")
            assert collected.code == 0, collected.err
            sessions.update((s["term"], s["session_id"]) for s in map(json.loads, collected.out.splitlines()))
        built = run_dbt(dsn, "run")
        assert built.returncode == 0, built.stdout[-6000:] + built.stderr[-2000:]
        yield {"dsn": dsn, "model": model, "sessions": sessions}
    finally:
        drop_database(pg_dsn, name)


@pytest.mark.parametrize("term", MARKUP_TERMS + MATH_TERMS)
def test_stats_prints_the_term_and_model_as_typed(capsys, printed_db, tmp_path, term):
    png = tmp_path / "session.png"
    result = run_cli(capsys, "stats", printed_db["sessions"][term], "--dsn", printed_db["dsn"], "--png", str(png))
    assert_clean(result)
    assert f"\nterm      {term}\n" in result.out
    assert f"model     {printed_db['model'][:-len(HOSTILE_DIR)]}{HOSTILE_SHOWN}  (" in result.out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_analyze_prints_every_term_and_the_model_as_typed(capsys, printed_db, tmp_path):
    png = tmp_path / "terms.png"
    result = run_cli(capsys, "analyze", *MARKUP_TERMS, *MATH_TERMS, "--dsn", printed_db["dsn"], "--png", str(png))
    assert_clean(result)
    for term in MARKUP_TERMS + MATH_TERMS:
        assert f"\n{term}  (" in result.out  # the heading of its histogram
    assert HOSTILE_SHOWN in result.out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_power_prints_the_terms_and_the_model_as_typed(capsys, printed_db):
    result = run_cli(capsys, "power", *MARKUP_TERMS, "--dsn", printed_db["dsn"])
    assert_clean(result)
    for term in MARKUP_TERMS:
        assert f"\n{term:<24} " in result.out
    assert HOSTILE_SHOWN in result.out


def test_analyze_by_prompt_shows_a_markup_template_and_model_directory_as_typed(capsys, printed_db):
    result = run_cli(capsys, "analyze", "Wille", "--by", "prompt", "--dsn", printed_db["dsn"])
    assert_clean(result)
    assert MARKUP_TEMPLATE in result.out and "a[/]b[bold]" in result.out


def test_stats_shows_a_markup_model_directory_as_typed(capsys, printed_db):
    result = run_cli(capsys, "stats", printed_db["sessions"]["Wille"], "--dsn", printed_db["dsn"])
    assert_clean(result)
    assert "/a[/]b[bold]  (temperature" in result.out
