"""The glossary of reference meanings: versions, import, first-use seeding, sessions naming their version."""

from __future__ import annotations

import json

import pytest

from collector.glossary import shipped_entries
from tests.cli_helpers import query, run_cli

TERM = "Aufhebung; 'x' \"y\" 🌀"


def _glossary(dsn, term):
    return query(dsn, "select * from raw.glossary where term = %s order by version", (term,))


def test_a_change_is_a_new_version_and_the_same_text_adds_none(capsys, db_dsn):
    first = run_cli(capsys, "glossary", "add", TERM, "Cancelling and keeping at once.", "--lang", "de",
                    "--source", "Hegel; Logik", "--dsn", db_dsn)
    assert first.code == 0 and first.out.startswith("added: ") and " v1 " in first.out, first.err
    same = run_cli(capsys, "glossary", "add", TERM, "  Cancelling and keeping   at once. ", "--lang", "de",
                   "--source", "Hegel; Logik", "--dsn", db_dsn)
    assert same.code == 0 and same.out.startswith("unchanged: "), same.out
    changed = run_cli(capsys, "glossary", "add", TERM, "Cancelling, keeping and lifting up.", "--lang", "de",
                      "--de", "Aufheben, bewahren, hinaufheben.", "--dsn", db_dsn)
    assert changed.code == 0 and " v2 " in changed.out
    rows = _glossary(db_dsn, TERM)
    assert [r["version"] for r in rows] == [1, 2]
    assert rows[0]["reference"] == "Cancelling and keeping at once." and rows[0]["source"] == "Hegel; Logik"
    assert rows[1]["reference_de"] == "Aufheben, bewahren, hinaufheben." and rows[1]["term"] == TERM

    listed = run_cli(capsys, "glossary", "list", "--json", "--dsn", db_dsn)
    newest = [json.loads(line) for line in listed.out.splitlines() if json.loads(line)["term"] == TERM]
    assert [r["version"] for r in newest] == [2]
    every = run_cli(capsys, "glossary", "list", "--all", "--json", "--dsn", db_dsn)
    assert [json.loads(line)["version"] for line in every.out.splitlines() if json.loads(line)["term"] == TERM] == [1, 2]


def test_shipped_meanings_load_on_first_use_and_never_replace_the_labs_own(capsys, db_dsn):
    own = run_cli(capsys, "glossary", "add", "Pflicht", "Our own reading of duty.", "--lang", "de", "--dsn", db_dsn)
    assert own.code == 0
    listed = run_cli(capsys, "glossary", "list", "--json", "--dsn", db_dsn)
    rows = {json.loads(line)["term"]: json.loads(line) for line in listed.out.splitlines()}
    assert {e.term for e in shipped_entries()} <= set(rows)
    assert {"Geworfenheit", "Vernunft", "Erkenntnis", "Pflicht", "Aufhebung", "Wille"} <= set(rows)
    assert rows["Pflicht"]["reference"] == "Our own reading of duty." and rows["Pflicht"]["version"] == 1
    assert rows["Aufhebung"]["source"].startswith("shipped with nyx-collector")
    again = run_cli(capsys, "glossary", "list", "--json", "--dsn", db_dsn)
    assert again.out == listed.out  # seeding twice adds nothing


def test_import_jsonl_and_csv_all_or_nothing(capsys, db_dsn, tmp_path):
    jsonl = tmp_path / "g.jsonl"
    jsonl.write_text(json.dumps({"term": "Dasein", "reference": "Being-there.", "language": "de"}) + "\n"
                     + json.dumps({"term": "Lichtung", "reference": "Clearing.", "reference_de": "Die Lichtung."})
                     + "\n", encoding="utf-8")
    result = run_cli(capsys, "glossary", "import", str(jsonl), "--dsn", db_dsn)
    assert result.code == 0 and "imported 2 entries: 2 new version(s)" in result.out, result.err
    csv_file = tmp_path / "g.csv"
    csv_file.write_text('term,reference,reference_de,source,language\nLichtung,"Clearing, in Heidegger.",,SEP,\n'
                        'Dasein,Being-there.,,,de\n', encoding="utf-8")
    result = run_cli(capsys, "glossary", "import", str(csv_file), "--dsn", db_dsn)
    assert result.code == 0 and "1 new version(s), 1 unchanged" in result.out, result.out
    assert [r["version"] for r in _glossary(db_dsn, "Lichtung")] == [1, 2]

    before = query(db_dsn, "select count(*) as n from raw.glossary")[0]["n"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"term": "Neu", "reference": "New."}) + "\n"
                   + json.dumps({"term": "Leer", "reference": "   "}) + "\n", encoding="utf-8")
    result = run_cli(capsys, "glossary", "import", str(bad), "--dsn", db_dsn)
    assert result.code == 2 and "line 2" in result.err and "reference is blank" in result.err
    assert query(db_dsn, "select count(*) as n from raw.glossary")[0]["n"] == before


BAD_ADD = [
    (["", "text"], "term is blank"),
    (["a\tb", "text"], "control character"),
    (["term", "   "], "reference is blank"),
    (["term", "text", "--lang", "german"], "ISO 639"),
    (["term", "x" * 4001], "longer than 4000"),
]


@pytest.mark.parametrize("argv, message", BAD_ADD, ids=[m for _, m in BAD_ADD])
def test_bad_entries_get_one_line_and_write_nothing(capsys, db_dsn, argv, message):
    result = run_cli(capsys, "glossary", "add", *argv, "--dsn", db_dsn)
    assert result.code == 2 and message in result.err and result.err.count("\n") == 1, result.err
    assert query(db_dsn, "select count(*) as n from raw.glossary")[0]["n"] == 0


@pytest.mark.parametrize("content, message", [
    (b"term,reference\nx,\xff\n", "not valid UTF-8"),
    (b"name,text\nx,y\n", "needs a header"),
    (b"term,reference\nx,y,z\n", "more fields than the header"),
])
def test_bad_csv_files_are_refused(capsys, db_dsn, tmp_path, content, message):
    path = tmp_path / "g.csv"
    path.write_bytes(content)
    result = run_cli(capsys, "glossary", "import", str(path), "--dsn", db_dsn)
    assert result.code == 2 and message in result.err, result.err
    assert query(db_dsn, "select count(*) as n from raw.glossary")[0]["n"] == 0


def test_each_session_names_the_reference_version_it_was_judged_against(capsys, db_dsn, tiny_model_dir):
    def collect():
        result = run_cli(capsys, "Vernunft", "--runs", "3", "--max-new-tokens", "4", "--seed", "1", "--no-iris",
                         "--model", str(tiny_model_dir), "--dsn", db_dsn, "--quiet", "--json")
        assert result.code == 0, result.err
        sid = json.loads(result.out.splitlines()[-1])["session_id"]
        return query(db_dsn, "select * from raw.probe_sessions where session_id = %s", (sid,))[0]

    first = collect()  # the shipped meaning, loaded on first use
    assert first["judge_mode"] == "reference" and first["stop_early"] is False
    shipped = query(db_dsn, "select * from raw.glossary where id = %s", (first["glossary_id"],))[0]
    assert shipped["term"] == "Vernunft" and shipped["version"] == 1
    rounds = query(db_dsn, "select sim_ref from raw.probe_rounds where session_id = %s", (first["session_id"],))
    assert rounds and all(r["sim_ref"] is not None for r in rounds)
    assert run_cli(capsys, "glossary", "add", "Vernunft", "Reason, a newer reading.", "--dsn", db_dsn).code == 0
    second = collect()
    assert second["glossary_id"] != first["glossary_id"]
    assert query(db_dsn, "select version from raw.glossary where id = %s", (second["glossary_id"],))[0]["version"] == 2
