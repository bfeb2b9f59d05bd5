"""Terms, prompt templates, model paths and messages are data: the real CLI prints them as typed,
control and bidi characters as escapes, and never as markup, terminal escapes or a traceback."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.cli_helpers import HOSTILE_DIR, HOSTILE_SHOWN, Result, assert_clean, query, run_cli


def model_at(tmp_path, tiny_model_dir, *parts: str) -> str:
    """The tiny model copied to a directory named ``parts`` under ``tmp_path``."""
    target = tmp_path.joinpath(*parts)
    shutil.copytree(tiny_model_dir, target)
    return str(target)


def collect(capsys, dsn: str, model: str, *argv: str) -> Result:
    """Collect with the progress bar on (no --quiet): the bar's label, notes and summary are printed."""
    return run_cli(capsys, *argv, "--runs", "3", "--batch-size", "3", "--max-new-tokens", "3", "--seed", "1",
                   "--model", model, "--dsn", dsn, "--no-iris")


def bar_lines(result: Result) -> list[str]:
    return [line for line in result.err.splitlines() if "3/3" in line and "runs/s" in line]


@pytest.mark.parametrize("term", ["[/]", "[bold red]Rot[/bold red]", "[link=http://x]y[/link] :thumbs_up:"])
def test_collect_prints_a_markup_term_as_typed(capsys, db_dsn, tiny_model_dir, term):
    result = collect(capsys, db_dsn, str(tiny_model_dir), term)
    assert_clean(result)
    assert f"  term        {term}\n" in result.out
    bars = bar_lines(result)
    assert bars and all(line.startswith(term) for line in bars), result.err
    assert query(db_dsn, "select term from raw.probe_sessions")[0]["term"] == term


def test_collect_with_a_prompt_template_that_starts_with_markup(capsys, db_dsn, tiny_model_dir):
    result = collect(capsys, db_dsn, str(tiny_model_dir), "Wille", "--prompt-template", "[/] {term} [bold]means")
    assert_clean(result)
    assert query(db_dsn, "select prompt_template from raw.probe_sessions")[0]["prompt_template"] == \
        "[/] {term} [bold]means"


@pytest.mark.parametrize("parts, shown", [(("a[", "]b[bold]"), "a[/]b[bold]"), ((HOSTILE_DIR,), HOSTILE_SHOWN),
                                          (("c1\x9b31m\u202ebidi",), "c1\\x9b31m\\u202ebidi")],
                         ids=["markup", "escape sequence", "C1 control and bidi override"])
def test_a_model_path_with_markup_or_an_escape_sequence_is_shown_as_typed(capsys, db_dsn, tiny_model_dir, tmp_path,
                                                                          parts, shown):
    model = model_at(tmp_path, tiny_model_dir, *parts)
    result = collect(capsys, db_dsn, model, "Wille", "--json")
    assert_clean(result)
    model_line = next(line for line in result.err.splitlines() if line.startswith("Model "))
    assert model_line.startswith(f"Model {tmp_path}/{shown} on cpu"), ascii(model_line)
    assert json.loads(result.out)["runs_stored"] == 3
    assert query(db_dsn, "select model_name from raw.probe_sessions")[0]["model_name"] == model
    # read back as a JSON line: the stored path, every hidden character a JSON escape (assert_clean)
    listed = run_cli(capsys, "sessions", "--json", "--dsn", db_dsn)
    assert_clean(listed)
    assert json.loads(listed.out)["model_name"] == model


@pytest.mark.parametrize("model, shown", [("/nonexist/a\x1b[2Jb", "/nonexist/a\\x1b[2Jb"),
                                          ("/nonexist/[/]\u202e\x07x", "/nonexist/[/]\\u202e\\x07x"),
                                          ("/nonexist/two\nlines", "/nonexist/two lines")])
def test_the_error_line_shows_a_missing_model_path_printable(capsys, db_dsn, model, shown):
    result = run_cli(capsys, "Wille", "--runs", "2", "--model", model, "--dsn", db_dsn)
    assert_clean(result, 3)
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and shown in lines[0], ascii(result.err)


def test_messages_are_read_back_printable(capsys, db_dsn):
    text = "[bold red]Rot[/bold red] \x1b[2J\x1b]0;pwned\x07 \u202eevil"
    written = run_cli(capsys, "message", "write", "--to", "partnership", "--type", "question", text,
                      "--dsn", db_dsn)
    assert_clean(written)
    shown = run_cli(capsys, "message", "read", "--to", "partnership", "--dsn", db_dsn)
    assert_clean(shown)
    assert "[bold red]Rot[/bold red] \\x1b[2J\\x1b]0;pwned\\x07 \\u202eevil" in shown.out


def test_glossary_list_shows_markup_as_typed(capsys, db_dsn):
    added = run_cli(capsys, "glossary", "add", "[bold red]Rot[/bold red]", "Red: [/] the colour \u202eof blood",
                    "--dsn", db_dsn)
    assert_clean(added)
    assert "[bold red]Rot[/bold red] v1" in added.out
    listed = run_cli(capsys, "glossary", "list", "--dsn", db_dsn)
    assert_clean(listed)
    assert "[bold red]Rot[/bold red]  v1  [en]  Red: [/] the colour \\u202eof blood" in listed.out
