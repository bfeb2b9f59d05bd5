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


# --- input edges (issue 13): every one refused with one line, before anything loads --------------

NO_MODEL = "{tmp}/no-such-model"  # a numeric option refused with exit 2 here was checked before the model
EARLY = ["--model", NO_MODEL, "--dsn", UNREACHABLE, "--quiet", "--no-iris"]

# (arguments, expected exit code, a fragment of the error line). With EARLY, neither the model nor
# the database is reached: exit 2 proves the option was refused before anything was loaded.
NUMBERS = [
    (["Wille", "--top-k", "2147483648", *EARLY], 2, "--top-k"),
    (["Wille", "--top-k", "99999999999999999999", *EARLY], 2, "--top-k"),
    (["Wille", "--top-k", "-1", *EARLY], 2, "--top-k"),
    (["Wille", "--temperature", "1e-300", *EARLY], 2, "--temperature"),
    (["Wille", "--temperature", "0.001", *EARLY], 2, "--temperature"),
    (["Wille", "--temperature", "5e-324", *EARLY], 2, "--temperature"),
    (["Wille", "--temperature", "inf", *EARLY], 2, "--temperature"),
    (["Wille", "--temperature", "nan", *EARLY], 2, "--temperature"),
    (["Wille", "--temperature", "1e308", *EARLY], 2, "--temperature"),
    (["Wille", "--runs", "2147483648", *EARLY], 2, "--runs"),
    (["Wille", "--batch-size", "2147483648", *EARLY], 2, "--batch-size"),
    (["Wille", "--max-new-tokens", "2147483648", *EARLY], 2, "--max-new-tokens"),
    (["Wille", "--seed", "18446744073709551616", *EARLY], 2, "--seed"),
    (["Wille", "--top-p", "nan", *EARLY], 2, "--top-p"),
    (["Wille", "--outage-limit", "nan", *EARLY], 2, "--outage-limit"),
    (["Wille", "--outage-limit", "inf", *EARLY], 2, "--outage-limit"),
    (["sessions", "--limit", "-1", "--dsn", UNREACHABLE], 2, "--limit"),
    (["sessions", "--limit", "0", "--dsn", UNREACHABLE], 2, "--limit"),
    (["sessions", "--limit", "2147483648", "--dsn", UNREACHABLE], 2, "--limit"),
    (["sessions", "--limit", "99999999999999999999", "--dsn", UNREACHABLE], 2, "--limit"),
    (["message", "read", "-n", "-5", "--dsn", UNREACHABLE], 2, "--limit"),
    (["message", "read", "--limit", "0", "--dsn", UNREACHABLE], 2, "--limit"),
    (["message", "read", "-n", "2147483648", "--dsn", UNREACHABLE], 2, "--limit"),
    (["similar", "text", "-k", "2147483648"], 2, "-k"),
    (["refresh", "--times", "0", "--dsn", UNREACHABLE], 2, "--times"),
    (["refresh", "--times", "-3", "--dsn", UNREACHABLE], 2, "--times"),
    (["refresh", "--every", "nan", "--dsn", UNREACHABLE], 2, "--every"),
    (["refresh", "--every", "-1", "--dsn", UNREACHABLE], 2, "--every"),
]  # fmt: skip

# Invalid UTF-8 arrives in Python's argv as lone surrogates (\udcXX); each is refused centrally.
NOT_UTF8 = [
    (["Auf\udcffhebung", *EARLY], "argument 1"),
    (["Wille", "--prompt-template", "The word \udcc3 {term}", *EARLY], "argument 3"),
    (["Wille", "--prompt-template=The \udcff {term}", *EARLY], "argument 2"),
    (["Wille", "--judge", "ref-\udcff", *EARLY], "argument 3"),
    (["message", "write", "hi \udcff there", "--dsn", "{dsn}"], "argument 3"),
    (["message", "write", "--type", "question\udce9", "--to", "partnership", "hi", "--dsn", "{dsn}"], "argument 4"),
    (["analyze", "Wille\udcfe", "--dsn", "{dsn}"], "argument 2"),
    (["similar", "text \udc80", "--term", "Wille"], "argument 2"),
    (["similar", "text", "--term", "Wi\udc80lle"], "argument 4"),
    (["glossary", "add", "Dasein\udcff", "a meaning", "--dsn", "{dsn}"], "argument 3"),
    (["glossary", "add", "Dasein", "a meaning \udcff", "--dsn", "{dsn}"], "argument 4"),
    (["stats", "abcd\udcff", "--dsn", "{dsn}"], "argument 2"),
    (["resume", "latest", "--model", "\udcffmodel", "--dsn", "{dsn}"], "argument 4"),
    (["Wille", "--dsn", "postgresql://nyx@127.0.0.1/\udcff", "--model", NO_MODEL], "argument 3"),
]  # fmt: skip

# Files of terms, journals, labels and glossaries: (name, bytes); "{tmp}/NAME" in a case names one.
FILES = {
    "u2028.txt": "Aufhebung\u2028Wille\n".encode(),
    "u2029.txt": "Aufhebung\u2029Wille\n".encode(),
    "u0085.txt": "Aufhebung\u0085Wille\n".encode(),
    "fs.txt": b"Aufhebung\x1cWille\n",
    "vt.txt": b"Aufhebung\x0bWille\n",
    "ff.txt": b"Aufhebung\x0cWille\n",
    "cr.txt": b"Aufhebung\rWille\n",
    "zero-width.txt": "Wille\n\u200b\u200d\u2060\n".encode(),
    "joiners.txt": "\u200d\u200c\n".encode(),
    "combining.txt": "\u0301\u0308\n".encode(),
    "inner-bom.txt": "Auf\ufeffhebung\n".encode(),
    "bom-only.txt": "\ufeff\n\ufeff\n".encode(),
    "latin1.txt": "Müdigkeit\n".encode("latin-1"),
    "surrogate-escape.txt": b"Wille\n\xed\xa0\x80\n",
    "dir": None,  # a directory
    "journal-latin1.jsonl": b'{"session_id": "\xff"}\n{}\n',
    "journal-garbage.jsonl": b"not json at all\n{}\n",
    "labels.jsonl": '{"term": "\u200b", "prev": "p", "text": "t", "label": "EXPANDS"}\n'.encode(),
    "labels-sep.jsonl": '{"term": "a\u2028b", "prev": "p", "text": "t", "label": "EXPANDS"}\n'.encode(),
    "glossary.jsonl": '{"term": "Da\u2028sein", "reference": "being there"}\n'.encode(),
    "glossary-zw.jsonl": '{"term": "\u200b\u200b", "reference": "nothing"}\n'.encode(),
    "glossary-surrogate.jsonl": b'{"term": "Dasein", "reference": "being \\udcff there"}\n',
    # issue 20: JSON the parser gives up on (line 2, so the line is counted): a number Python will not
    # convert (more than 4300 digits), arrays nested beyond the parser's stack
    "huge-number.jsonl": b'\n{"term": "Dasein", "reference": "x", "round": ' + b"9" * 5000 + b"}\n",
    "deep.jsonl": b"\n" + b"[" * 100_000 + b"]" * 100_000 + b"\n",
}

FILE_CASES = [
    (["Wille", "--terms-file", "{tmp}/u2028.txt", *EARLY], 2, "line 1: term 'Aufhebung\\u2028Wille' contains the line"),
    (["Wille", "--terms-file", "{tmp}/u2029.txt", *EARLY], 2, "paragraph separator U+2029"),
    (["Wille", "--terms-file", "{tmp}/u0085.txt", *EARLY], 2,
     "line 1: term 'Aufhebung\\x85Wille' contains the control"),
    (["Wille", "--terms-file", "{tmp}/fs.txt", *EARLY], 2, "U+001C"),
    (["Wille", "--terms-file", "{tmp}/vt.txt", *EARLY], 2, "U+000B"),
    (["Wille", "--terms-file", "{tmp}/ff.txt", *EARLY], 2, "U+000C"),
    (["Wille", "--terms-file", "{tmp}/cr.txt", *EARLY], 2, "U+000D"),
    (["Wille", "--terms-file", "{tmp}/zero-width.txt", *EARLY], 2, "line 2: term '\\u200d' has no visible"),
    (["Wille", "--terms-file", "{tmp}/joiners.txt", *EARLY], 2, "line 1: term '\\u200d\\u200c' has no visible"),
    (["Wille", "--terms-file", "{tmp}/combining.txt", *EARLY], 2, "has no visible character"),
    (["Wille", "--terms-file", "{tmp}/inner-bom.txt", *EARLY], 2, "byte-order mark"),
    (["Wille", "--terms-file", "{tmp}/bom-only.txt", *EARLY], 2, "line 2: term is blank"),
    (["Wille", "--terms-file", "{tmp}/latin1.txt", *EARLY], 2, "not UTF-8"),
    (["Wille", "--terms-file", "{tmp}/surrogate-escape.txt", *EARLY], 2, "not UTF-8"),
    (["Wille", "--terms-file", "{tmp}/dir", *EARLY], 2, "is a directory"),
    (["Wille", "--terms-file", "/dev/zero", *EARLY], 2, "larger than 4 MiB"),
    (["\u200b\u200d", *EARLY], 2, "has no visible character"),
    (["\ufeff", *EARLY], 2, "term is blank"),
    (["Auf\u2028hebung", *EARLY], 2, "line separator U+2028"),
    (["Auf\u0085hebung", *EARLY], 2, "U+0085"),
    (["Auf\x1chebung", *EARLY], 2, "U+001C"),
    (["analyze", "Auf\u2028hebung", "--dsn", UNREACHABLE], 2, "U+2028"),
    (["analyze", "Wille", "\u200b", "--dsn", UNREACHABLE], 2, "blank"),
    (["similar", "text", "--term", "\u200d"], 2, "no visible character"),
    (["replay", "{tmp}/dir", "--dsn", UNREACHABLE], 2, "is a directory"),
    (["replay", "/dev/zero", "--dsn", UNREACHABLE], 2, "longer than 16 MiB"),
    (["replay", "{tmp}/journal-latin1.jsonl", "--dsn", UNREACHABLE], 2, "line 1: not UTF-8"),
    (["replay", "{tmp}/journal-garbage.jsonl", "--dsn", UNREACHABLE], 2, "line 1: not a journal record"),
    (["validate", "{tmp}/labels.jsonl", "--no-glossary"], 2, "line 1: term is blank"),
    (["validate", "{tmp}/labels-sep.jsonl", "--no-glossary"], 2, "line 1: term 'a\\u2028b' contains the line"),
    (["validate", "/dev/zero", "--no-glossary"], 2, "larger than"),
    (["validate", "{tmp}/dir", "--no-glossary"], 2, "is not a readable file"),
    (["glossary", "import", "{tmp}/glossary.jsonl", "--dsn", UNREACHABLE], 2, "line 1: term 'Da\\u2028sein'"),
    (["glossary", "import", "{tmp}/glossary-zw.jsonl", "--dsn", UNREACHABLE], 2, "line 1: term is blank"),
    (["glossary", "import", "{tmp}/glossary-surrogate.jsonl", "--dsn", UNREACHABLE], 2, "not valid UTF-8"),
    (["glossary", "import", "/dev/zero", "--dsn", UNREACHABLE], 2, "larger than"),
    (["glossary", "add", "\u200b", "a meaning", "--dsn", UNREACHABLE], 2, "blank"),
    (["glossary", "add", "Da\u2029sein", "a meaning", "--dsn", UNREACHABLE], 2, "U+2029"),
    (["glossary", "import", "{tmp}/huge-number.jsonl", "--dsn", UNREACHABLE], 2,
     "huge-number.jsonl, line 2: a number of more than 4300 digits"),
    (["glossary", "import", "{tmp}/deep.jsonl", "--dsn", UNREACHABLE], 2, "deep.jsonl, line 2: nested too deeply"),
    (["label", "import", "{tmp}/huge-number.jsonl", "--dsn", "{dsn}"], 2, "line 2: a number of more than 4300 digits"),
    (["label", "import", "{tmp}/deep.jsonl", "--dsn", "{dsn}"], 2, "line 2: nested too deeply"),
    (["validate", "{tmp}/huge-number.jsonl", "--no-glossary"], 2, "line 2: a number of more than 4300 digits"),
    (["validate", "{tmp}/deep.jsonl", "--no-glossary"], 2, "line 2: nested too deeply"),
]  # fmt: skip

EDGE_CASES = NUMBERS + [(argv, 2, fragment) for argv, fragment in NOT_UTF8] + FILE_CASES


@pytest.fixture
def edge_files(tmp_path):
    for name, content in FILES.items():
        if content is None:
            (tmp_path / name).mkdir()
        else:
            (tmp_path / name).write_bytes(content)
    return tmp_path


@pytest.mark.parametrize("argv, code, fragment", EDGE_CASES, ids=[ascii(" ".join(c[0]))[1:50] for c in EDGE_CASES])
def test_input_edges_are_refused_cleanly(capsys, db_dsn, edge_files, argv, code, fragment):
    before = table_counts(db_dsn)
    result = run_cli(capsys, *(a.replace("{tmp}", str(edge_files)).replace("{dsn}", db_dsn) for a in argv))
    assert result.code == code, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.err
    assert fragment in lines[0], lines[0]
    assert result.out == ""
    assert table_counts(db_dsn) == before


def test_invalid_utf8_from_a_real_command_line(db_dsn, tmp_path):
    """The bytes themselves, through the console script: Linux hands Python surrogate escapes."""
    import os
    import subprocess
    import sys

    exe = os.path.join(os.path.dirname(sys.executable), "nyx-collect")
    for argv in ([b"analyze", b"Wille\xff", b"--dsn", db_dsn.encode()],
                 [b"message", b"write", b"caf\xe9", b"--dsn", db_dsn.encode()]):
        done = subprocess.run([exe.encode(), *argv], capture_output=True, timeout=120)
        err = done.stderr.decode("utf-8", "replace")
        assert done.returncode == 2 and "Traceback" not in err, err
        assert err.startswith("Error: argument") and "not valid UTF-8" in err and err.count("\n") == 1, err


def test_a_file_name_that_is_not_utf8_is_still_a_file_name(capsys, db_dsn, tmp_path):
    """File names may be any bytes: the check lets through an argument that names an existing file."""
    import os

    name = os.fsdecode(os.fsencode(str(tmp_path)) + b"/terms-\xff.txt")
    with open(name, "w", encoding="utf-8") as out:
        out.write("Auf\u2028hebung\n")
    result = run_cli(capsys, "Wille", "--terms-file", name, *(a.replace("{tmp}", str(tmp_path)) for a in EARLY))
    assert result.code == 2 and "line 1" in result.err and "U+2028" in result.err, result.err


def test_the_edge_tables_hold_every_class():
    assert len(NUMBERS) >= 25 and len(NOT_UTF8) >= 12 and len(FILE_CASES) >= 35
