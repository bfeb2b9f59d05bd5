"""Bad input: one clear line on stderr, the right exit code, and nothing written to the database."""

from __future__ import annotations

import importlib.util

import pytest

from tests.cli_helpers import run_cli, table_counts

UNREACHABLE = "postgresql://nyx:s3cret@127.0.0.1:1/nyx?connect_timeout=2"

# (arguments after the term list, expected exit code, a fragment of the error line)
CASES = [
    (["", "--runs", "2"], 2, "blank"),
    (["   ", "--runs", "2"], 2, "blank"),
    (["bad\x07term", "--runs", "2"], 2, "control character"),
    (["tab\tterm", "--runs", "2"], 2, "control character"),
    (["x" * 201, "--runs", "2"], 2, "limit"),
    (["Wille", "--runs", "0"], 2, "--runs"),
    (["Wille", "--runs", "-5"], 2, "--runs"),
    (["Wille", "--runs", "many"], 2, "'--runs'"),
    (["Wille", "--temperature", "-1"], 2, "--temperature"),
    (["Wille", "--temperature", "hot"], 2, "'--temperature'"),
    (["Wille", "--max-rounds", "0"], 2, "--max-rounds"),
    (["Wille", "--max-rounds", "4"], 2, "--max-rounds"),
    (["Wille", "--top-p", "0"], 2, "--top-p"),
    (["Wille", "--max-new-tokens", "0"], 2, "--max-new-tokens"),
    (["Wille", "--batch-size", "0"], 2, "--batch-size"),
    (["Wille", "--seed", "-1"], 2, "--seed"),
    (["Wille", "--prompt-template", "no placeholder"], 2, "{term}"),
    (["Wille", "--terms-file", "/nonexistent/terms.txt"], 2, "terms file not found"),
    (["--runs", "2"], 2, "no term given"),
    (["Wille", "--device", "tpu"], 2, "unknown device"),
    (["Wille", "--dtype", "int8"], 2, "unknown dtype"),
    (["Wille", "--no-such-option"], 2, "No such option"),
    (["Wille", "--backend", "llama.cpp"], 2, "unknown backend"),
    (["Wille", "--judge", "ref-99"], 2, "unknown judge"),
    (["Wille", "--judge", ""], 2, "unknown judge"),
]
if importlib.util.find_spec("vllm") is None:  # where vLLM is installed, tests/integration/test_vllm.py runs it
    CASES.append((["Wille", "--backend", "vllm"], 2, "pip install 'nyx-collector[vllm]'"))


@pytest.mark.parametrize("argv, code, fragment", CASES, ids=[repr(c[0])[:40] for c in CASES])
def test_bad_input_is_refused_cleanly(capsys, db_dsn, tiny_model_dir, argv, code, fragment):
    before = table_counts(db_dsn)
    result = run_cli(capsys, *argv, "--model", str(tiny_model_dir), "--dsn", db_dsn, "--quiet")
    assert result.code == code, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.err
    assert fragment in lines[0]
    assert result.out == ""
    assert table_counts(db_dsn) == before


@pytest.mark.parametrize("model, fragment", [("{tmp}/no-model", "not found"), ("{tmp}/weights.gguf", "not found"),
                                             ("no-such-org/no-such-model", "could not load model")])
def test_missing_model(capsys, db_dsn, tmp_path, model, fragment):
    before = table_counts(db_dsn)
    result = run_cli(capsys, "Wille", "--runs", "2", "--model", model.format(tmp=tmp_path), "--dsn", db_dsn)
    assert result.code == 3
    assert result.err.strip().startswith("Error: ") and len(result.err.strip().splitlines()) == 1
    assert fragment in result.err
    assert table_counts(db_dsn) == before


def test_unreachable_database_masks_the_password(capsys, tiny_model_dir):
    result = run_cli(capsys, "Wille", "--runs", "2", "--model", str(tiny_model_dir), "--dsn", UNREACHABLE)
    assert result.code == 4
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    line = lines[0]
    assert line.startswith("Error: ") and "s3cret" not in result.err
    assert "127.0.0.1" in line


def test_malformed_dsn(capsys, tiny_model_dir):
    result = run_cli(capsys, "Wille", "--runs", "2", "--model", str(tiny_model_dir), "--dsn", "host=x port=")
    assert result.code in (2, 4)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")


def test_terms_that_look_like_commands_are_collected_with_the_explicit_form(capsys, db_dsn, tiny_model_dir):
    result = run_cli(capsys, "collect", "migrate", "--runs", "2", "--model", str(tiny_model_dir),
                     "--dsn", db_dsn, "--max-new-tokens", "3", "--quiet", "--json")
    assert result.code == 0, result.err
    assert '"term": "migrate"' in result.out


def test_every_command_is_documented_with_an_example():
    import typer

    from collector.face.cli import app

    group = typer.main.get_command(app)
    pending = [(name, cmd) for name, cmd in group.commands.items()]
    seen = 0
    while pending:
        name, cmd = pending.pop()
        if hasattr(cmd, "commands"):
            pending += list(cmd.commands.items())
            continue
        seen += 1
        assert cmd.help and "Example:" in cmd.help, f"{name} has no example in its help"
    assert seen >= 7


# (environment, arguments, expected exit code, a fragment of the error line): inputs that reach
# beyond the collect arguments - the environment, DSNs, terms files and session ids.
MORE_CASES = [
    ({"PHOEBE_DSN": "   "}, ["Wille", "--runs", "2"], 2, "PHOEBE_DSN is blank"),
    ({"PHOEBE_DSN": "host=127.0.0.1 port=notaport"}, ["Wille", "--runs", "2"], 2, "invalid DSN"),
    ({}, ["Wille", "--runs", "2", "--dsn", ""], 2, "--dsn is blank"),
    ({}, ["Wille", "--runs", "2", "--dsn", "postgresql://u:pw@127.0.0.1:99999/x"], 2, "invalid DSN"),
    ({}, ["Wille", "--runs", "2", "--iris", "http://"], 2, "invalid iris address"),
    ({}, ["Wille", "--runs", "2", "--outage-limit", "-1"], 2, "--outage-limit"),
    ({}, ["stats", "not-a-uuid!"], 2, "not a session id"),
    ({}, ["stats", "abc"], 2, "not a session id"),
    ({}, ["stats", "ffffffff"], 5, "no session ffffffff"),
    ({}, ["resume", "eeeeeeee-0000-4000-8000-000000000000"], 5, "no session"),
    ({}, ["resume", "x'; drop table raw.probe_sessions; --"], 2, "not a session id"),
    ({}, ["replay", "/nonexistent/journal.jsonl"], 2, "journal not found"),
    ({}, ["message", "write", "--to", "mars", "--type", "question", "hi"], 2, "invalid message (to)"),
    ({}, ["similar", "   "], 2, "blank"),
    ({}, ["similar", "text", "-k", "0"], 2, "-k"),
]


@pytest.mark.parametrize("env, argv, code, fragment", MORE_CASES, ids=[" ".join(c[1])[:40] for c in MORE_CASES])
def test_more_bad_input_is_refused_cleanly(capsys, monkeypatch, db_dsn, tiny_model_dir, env, argv, code, fragment):
    before = table_counts(db_dsn)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    extra = [] if "--dsn" in argv or env or argv[0] == "similar" else ["--dsn", db_dsn]
    if argv[0] in ("Wille",):
        extra += ["--model", str(tiny_model_dir), "--quiet"]
    result = run_cli(capsys, *argv, *extra)
    assert result.code == code, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.err
    assert fragment in lines[0]
    assert table_counts(db_dsn) == before


def test_the_bad_input_tables_cover_at_least_25_cases():
    assert len(CASES) + len(MORE_CASES) >= 25
