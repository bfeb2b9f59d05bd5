"""Human labels: storage with undo, export and import (a round trip), bad input, and the real
terminal session driven through a pseudo-terminal."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pexpect
import pytest

from collector.db.store import Store
from collector.judge.validation import read_labelled
from collector.write.labels import LabelDesk, draw
from tests.cli_helpers import query, run_cli, table_counts

NYX = str(Path(sys.executable).with_name("nyx-collect"))


@pytest.fixture
def session(capsys, db_dsn, tiny_model_dir) -> tuple[str, str]:
    """(dsn, session id) of a collected tiny-model session of Aufhebung: 8 runs, full chains."""
    result = run_cli(capsys, "Aufhebung", "--runs", "8", "--max-new-tokens", "4", "--seed", "3", "--model",
                     str(tiny_model_dir), "--dsn", db_dsn, "--quiet", "--json", "--no-iris")
    assert result.code == 0, result.err
    return db_dsn, json.loads(result.out)["session_id"]


def labels(dsn: str) -> list[dict]:
    return query(dsn, "select session_id::text, run_number, round, labeller, label, note from raw.round_labels "
                      "order by session_id, run_number, round, labeller")


# --- the desk: every step committed, undo restores ------------------------------------------


def test_desk_commits_each_label_and_undo_restores_what_was_there(session):
    dsn, sid = session
    with Store.connect(dsn) as store:
        sample = draw(store, [store.resolve_session(sid)], "ann", 5, seed=1)
        assert len(sample.items) == 5 and sample.candidates == 24
        desk = LabelDesk(store, sample.items, "ann")
        desk.give("EXPANDS")
        assert [r["label"] for r in labels(dsn)] == ["EXPANDS"]  # visible to another connection at once
        desk.skip()
        desk.give("COLLAPSE", note="  cut   off  ")
        assert desk.given == 2 and desk.skipped == 1 and desk.pos == 3
        assert {(r["label"], r["note"]) for r in labels(dsn)} == {("EXPANDS", None), ("COLLAPSE", "cut off")}
        assert desk.undo() and len(labels(dsn)) == 1 and desk.pos == 2
        assert desk.undo() and desk.skipped == 0 and desk.pos == 1  # the skip
        assert desk.undo() and labels(dsn) == [] and desk.pos == 0
        assert not desk.undo()

        # relabelling replaces the label; undoing that brings the first one back
        desk.give("DIVERGENT")
        again = LabelDesk(store, [sample.items[0]], "ann")
        again.give("CONFIRMS", note="second look")
        assert [(r["label"], r["note"]) for r in labels(dsn)] == [("CONFIRMS", "second look")]
        again.undo()
        assert [(r["label"], r["note"]) for r in labels(dsn)] == [("DIVERGENT", None)]

        # the same draw again leaves out what this labeller has done, not what others did
        assert len(draw(store, [store.resolve_session(sid)], "ann", 5, seed=1).items) == 4
        assert len(draw(store, [store.resolve_session(sid)], "bob", 5, seed=1).items) == 5
        assert len(draw(store, [store.resolve_session(sid)], "ann", 5, seed=1, again=True).items) == 5


# --- export and import --------------------------------------------------------------------


def test_export_then_import_round_trips_and_validate_reads_the_export(capsys, session, tmp_path):
    dsn, sid = session
    with Store.connect(dsn) as store:
        items = draw(store, [store.resolve_session(sid)], "ann", 6).items
        desk = LabelDesk(store, items, "Zoë O'Brien; --")
        for i, _ in enumerate(items):
            desk.give(("EXPANDS", "DIVERGENT", "COLLAPSE")[i % 3], note="ünïcode \"quoted\"" if i == 2 else None)
    before = query(dsn, "select * from raw.round_labels order by run_number, round")
    out = tmp_path / "labels.jsonl"
    result = run_cli(capsys, "label", "export", str(out), "--dsn", dsn)
    assert result.code == 0, result.err
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 6
    assert set(rows[0]) >= {"session_id", "run_number", "round", "term", "prev", "text", "label", "labeller"}
    assert {r["labeller"] for r in rows} == {"Zoë O'Brien; --"} and rows[0]["term"] == "Aufhebung"
    assert [i.label for i in read_labelled(out)] == [r["label"] for r in rows]  # a labelled set validate reads

    query(dsn, "delete from raw.round_labels returning 1")
    result = run_cli(capsys, "label", "import", str(out), "--dsn", dsn)
    assert result.code == 0, result.err
    assert "imported 6 label(s)" in result.out
    assert query(dsn, "select * from raw.round_labels order by run_number, round") == before  # times kept too

    # importing again replaces (one label per labeller and round), it does not add
    assert run_cli(capsys, "label", "import", str(out), "--dsn", dsn).code == 0
    assert table_counts(dsn)["round_labels"] == 6
    # filters
    assert run_cli(capsys, "label", "export", "-", "--labeller", "nobody", "--dsn", dsn).out == ""
    assert len(run_cli(capsys, "label", "export", "-", "--term", "Aufhebung", "--dsn", dsn).out.splitlines()) == 6


def _line(session_id: str, **over) -> str:
    row = {"session_id": session_id, "run_number": 1, "round": 1, "label": "EXPANDS", "labeller": "ann", **over}
    return json.dumps(row)


BAD_IMPORTS = [
    ("unknown session", lambda s: _line("00000000-0000-0000-0000-000000000000"), "line 2: no such round"),
    ("unknown run", lambda s: _line(s, run_number=99), "line 2: no such round"),
    ("unknown round", lambda s: _line(s, round=3, run_number=7000), "line 2: no such round"),
    ("round out of range", lambda s: _line(s, round=4), "line 2: round must be"),
    ("run as text", lambda s: _line(s, run_number="1"), "line 2: run_number must be"),
    ("run is bool", lambda s: _line(s, run_number=True), "line 2: run_number must be"),
    ("run too large", lambda s: _line(s, run_number=2**31), "line 2: run_number must be"),
    ("bad label", lambda s: _line(s, label="MAYBE"), "line 2: label must be one of"),
    ("label missing", lambda s: json.dumps({"session_id": s, "run_number": 1, "round": 1, "labeller": "a"}),
     "line 2: label must be"),
    ("bad session id", lambda s: _line("x'; drop table raw.round_labels; --"), "line 2: session_id is not"),
    ("blank labeller", lambda s: _line(s, labeller="  "), "line 2: the labeller's name is blank"),
    ("control char labeller", lambda s: _line(s, labeller="a\u0007b"), "line 2: the labeller's name holds"),
    ("no labeller", lambda s: json.dumps({"session_id": s, "run_number": 1, "round": 1, "label": "EXPANDS"}),
     "line 2: labeller must be a text"),
    ("other term", lambda s: _line(s, term="Wille"), "line 2: the round is of another term"),
    # issue 20: a label given to another text is a wrong label (label export writes all of these)
    ("other model", lambda s: _line(s, model_name="gpt2"), "line 2: model_name differs from the stored round's"),
    ("other prev", lambda s: _line(s, prev="The word \"Wille\" means"), "line 2: prev differs from the stored"),
    ("other text", lambda s: _line(s, text="a text no model wrote"), "line 2: text differs from the stored round's"),
    ("text not text", lambda s: _line(s, text=["a"]), "line 2: text must be a text"),
    ("NUL in text", lambda s: _line(s, text="a\x00b"), "line 2: the text contains a NUL character"),
    ("bad time", lambda s: _line(s, labelled_at="yesterday"), "line 2: labelled_at is not"),
    ("naive time", lambda s: _line(s, labelled_at="2026-01-01T00:00:00"), "line 2: labelled_at has no time zone"),
    ("note not text", lambda s: _line(s, note=5), "line 2: note must be a text"),
    # issue 20: the database refuses a NUL (it was exit 4); a lone surrogate is not UTF-8
    ("NUL in note", lambda s: _line(s, note="a\x00b"), "line 2: the note contains a NUL character"),
    ("surrogate in note", lambda s: _line(s, note="a\ud800b"), "line 2: the note is not valid UTF-8"),
    ("NUL in labeller", lambda s: _line(s, labeller="a\x00b"), "line 2: the labeller's name contains a NUL"),
    ("duplicate", lambda s: _line(s, round=2), "line 2: the same round and labeller as line 1"),
    ("not json", lambda s: "{not json", "line 2: not JSON"),
    ("not an object", lambda s: "[1, 2]", "line 2: each line must be a JSON object"),
]


@pytest.mark.parametrize("case, second_line, message", BAD_IMPORTS, ids=[c[0] for c in BAD_IMPORTS])
def test_a_bad_line_refuses_the_whole_file(capsys, session, tmp_path, case, second_line, message):
    dsn, sid = session
    path = tmp_path / "labels.jsonl"
    first = _line(sid, round=2)
    path.write_text(first + "\n" + second_line(sid) + "\n", encoding="utf-8")
    before = table_counts(dsn)
    result = run_cli(capsys, "label", "import", str(path), "--dsn", dsn)
    assert result.code == 2, (result.out, result.err)
    assert result.err.startswith("Error: ") and result.err.count("\n") == 1, result.err
    assert message in result.err
    assert table_counts(dsn) == before


@pytest.mark.parametrize("content, message", [
    (b"\xff\xfe not utf-8\n", "is not valid UTF-8"),
    (b"", "holds no labels"),
    (b"\n  \n", "holds no labels"),
])
def test_import_of_unreadable_files(capsys, db_dsn, tmp_path, content, message):
    path = tmp_path / "labels.jsonl"
    path.write_bytes(content)
    result = run_cli(capsys, "label", "import", str(path), "--dsn", db_dsn)
    assert result.code == 2 and message in result.err and result.err.count("\n") == 1
    result = run_cli(capsys, "label", "import", str(tmp_path), "--dsn", db_dsn)  # a directory
    assert result.code == 2 and "is not a readable file" in result.err


def test_label_refuses_without_a_terminal_and_bad_options(capsys, session):
    dsn, sid = session
    cases = [
        ((sid,), "label needs a terminal"),
        ((sid, "--term", "Aufhebung"), "not both"),
        (("--model", "m"), "--model needs --term"),
        (("--labeller", " "), "the labeller's name is blank"),
        (("--n", "x"), "Invalid value for '--n'"),
        (("--n", "0"), "--n must be from 1 to 100000"),
        (("--n", "100001"), "--n must be from 1 to 100000"),
        (("--n", "-3"), "--n must be from 1 to 100000"),
    ]
    for args, message in cases:
        result = run_cli(capsys, "label", *args, "--dsn", dsn)
        assert result.code == 2, (args, result.err)
        assert message in result.err and result.err.count("\n") == 1, result.err
    assert table_counts(dsn)["round_labels"] == 0


# --- the terminal session, for real ----------------------------------------------------------


def _spawn(dsn: str, *args: str) -> pexpect.spawn:
    child = pexpect.spawn(NYX, ["label", *args, "--dsn", dsn, "--labeller", "ann"], encoding="utf-8",
                          timeout=60, dimensions=(50, 110))
    return child


def _screen(child: pexpect.spawn) -> str:
    child.expect(r"1-5 give a type · s skip · u undo · n note · q quit[^\n]*\r?\n")
    return child.before


def _quit(child: pexpect.spawn, says: str) -> None:
    """Press q: the session says ``says`` (a regex) and exits 0."""
    child.send("q")
    child.expect(says)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_a_note_the_database_would_refuse_is_refused_on_the_screen(session):
    dsn, sid = session
    child = _spawn(dsn, sid, "--n", "2", "--seed", "2")
    _screen(child)
    child.send("n")
    child.expect("note: ")
    child.send("a\x00b\r")  # a NUL: PostgreSQL refuses it in text
    screen = _screen(child)
    assert "note refused: the note contains a NUL character" in screen and "1 of 2" in screen
    child.send("n")
    child.expect("note: ")
    child.send("x" * 2001 + "\r")
    screen = _screen(child)
    assert "note refused: the note is longer than 2000 characters" in screen and "1 of 2" in screen
    child.send("2")  # CONFIRMS, without the refused notes
    _screen(child)
    _quit(child, r"stopped: 1 labelled, 0 skipped, 1 left of 2 \(labeller ann\)")
    assert [(r["label"], r["note"]) for r in labels(dsn)] == [("CONFIRMS", None)]


def test_the_terminal_session_for_real(session):
    dsn, sid = session
    rounds = {(r["run_number"], r["round"]): r for r in
              query(dsn, "select run_number, round, prompt, completion, echo_type from raw.probe_rounds")}
    child = _spawn(dsn, sid, "--n", "6", "--seed", "2")
    screen = _screen(child)
    assert "term:       Aufhebung" in screen and "reference:" in screen and "1 of 6" in screen
    assert "glosses:    sublation · cancellation and preservation · " in screen  # the shipped glosses
    assert "judge" not in screen.lower()  # blind: nothing of the verdict

    child.send("1")  # EXPANDS
    screen = _screen(child)
    assert "2 of 6" in screen
    child.send("x")  # a bad key: told, nothing stored, same round
    screen = _screen(child)
    assert "unknown key 'x'" in screen and "2 of 6" in screen
    child.send("s")  # skip
    _screen(child)
    child.send("u")  # undo the skip: back on round 2
    screen = _screen(child)
    assert "undone" in screen and "2 of 6" in screen
    child.send("n")
    child.expect("note: ")
    child.send("reads like a namesake\r")
    _screen(child)
    child.send("4")  # DIVERGENT, with the note
    _screen(child)
    child.send("5")  # COLLAPSE
    _screen(child)
    child.send("u")  # undo it: the label is gone again
    _screen(child)
    _quit(child, r"stopped: 2 labelled, 0 skipped, 4 left of 6 \(labeller ann\)")
    stored = labels(dsn)
    assert [(r["label"], r["note"]) for r in sorted(stored, key=lambda r: r["label"])] == [
        ("DIVERGENT", "reads like a namesake"), ("EXPANDS", None)]
    for r in stored:  # the rounds labelled are real rounds of the session
        assert (r["run_number"], r["round"]) in rounds

    # the same command again goes on where it stopped; a closed terminal keeps what was given
    child = _spawn(dsn, sid, "--n", "6", "--seed", "2")
    child.expect("2 of the 6 sampled rounds are labelled by you already; 4 to go")
    screen = _screen(child)
    assert "1 of 4" in screen
    child.send("3")
    _screen(child)
    child.close(force=True)  # the terminal goes away
    assert sorted(r["label"] for r in labels(dsn)) == ["CIRCULAR", "DIVERGENT", "EXPANDS"]
