"""The glossary of reference meanings: versions, import, first-use seeding, sessions naming their version."""

from __future__ import annotations

import json

import pytest

from collector.core.glossary import shipped_entries
from tests.cli_helpers import query, run_cli
from tests.meaning_judge import meaning_judge  # noqa: F401  (a fixture)

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


def test_an_older_shipped_entry_is_brought_up_to_the_shipped_version_but_the_labs_own_never(capsys, db_dsn):
    # an older collector seeded Vernunft without glosses; the lab wrote its own Wille
    shipped = {e.term: e for e in shipped_entries()}
    old = shipped["Vernunft"]
    query(db_dsn, "insert into raw.glossary (term, version, language, reference, reference_de, source) "
                  "values (%s, 1, %s, %s, %s, %s) returning id",
          (old.term, old.language, old.reference, old.reference_de, old.source))
    own = run_cli(capsys, "glossary", "add", "Wille", "Our own reading of the will.", "--lang", "de", "--dsn", db_dsn)
    assert own.code == 0
    listed = run_cli(capsys, "glossary", "list", "--json", "--dsn", db_dsn)
    rows = {json.loads(line)["term"]: json.loads(line) for line in listed.out.splitlines()}
    assert rows["Vernunft"]["version"] == 2 and rows["Vernunft"]["glosses"] == list(old.glosses) != []
    assert [r["version"] for r in _glossary(db_dsn, "Vernunft")] == [1, 2]  # the old version stays
    assert rows["Wille"]["reference"] == "Our own reading of the will." and rows["Wille"]["glosses"] == []
    again = run_cli(capsys, "glossary", "list", "--json", "--dsn", db_dsn)
    assert again.out == listed.out  # up to date: seeding again adds nothing


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


BAD_CSV = [
    (b"term,reference\nx,\xff\n", "not valid UTF-8"),
    (b"name,text\nx,y\n", "needs a header"),
    (b"term,reference\nx,y,z\n", "more fields than the header"),
    # issue 20: each accepted silently, or named the wrong line
    (b'term,reference\nx,y\nz,"never closed\nq,r\n', "g.csv, line 3: a quoted field is never closed"),
    (b'term,reference\nx,"quoted"then more\n', "g.csv, line 2: ',' expected after '\"'"),
    (b"term,reference,term\nx,y,z\n", "g.csv, line 1: the header names the column 'term' twice"),
    (b"term,reference\nx,y\nz," + b"a" * 200_000 + b"\n", "g.csv, line 3: field larger than field limit"),
    (b'term,reference\nx,y\nLeer,"  \n  "\n', "g.csv, line 3: the reference is blank"),  # a record of 2 lines
]


@pytest.mark.parametrize("content, message", BAD_CSV, ids=[m.removeprefix("g.csv, ")[:40] for _, m in BAD_CSV])
def test_bad_csv_files_are_refused(capsys, db_dsn, tmp_path, content, message):
    path = tmp_path / "g.csv"
    path.write_bytes(content)
    result = run_cli(capsys, "glossary", "import", str(path), "--dsn", db_dsn)
    assert result.code == 2 and message in result.err and result.err.count("\n") == 1, result.err
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


# ---------------------------------------------------------------------------------------------
# glosses (migration 0012): part of the version, read back by every reader of the glossary
# ---------------------------------------------------------------------------------------------


def test_glosses_are_part_of_the_entry_and_its_version(capsys, db_dsn):
    add = ["glossary", "add", TERM, "Cancelling and keeping at once.", "--lang", "de", "--dsn", db_dsn]
    first = run_cli(capsys, *add, "--gloss", " sublation ", "--gloss", "lifting  up", "--gloss", "sublation",
                    "--gloss", "cance\u0301l", "--gloss-de", "Aufheben; 'x' \"y\" 🌀")
    assert first.code == 0 and " v1 " in first.out, first.err
    rows = _glossary(db_dsn, TERM)
    # trimmed, white space collapsed, NFC (e + combining acute -> é), the duplicate dropped, order kept
    assert rows[0]["glosses"] == ["sublation", "lifting up", "cancél"]
    assert rows[0]["glosses_de"] == ["Aufheben; 'x' \"y\" 🌀"]

    same = run_cli(capsys, *add, "--gloss", "sublation", "--gloss", "lifting up", "--gloss", "canc\u00e9l",
                   "--gloss-de", "Aufheben; 'x' \"y\" 🌀")
    assert same.code == 0 and same.out.startswith("unchanged: ") and " v1 " in same.out, same.out
    other_glosses = run_cli(capsys, *add, "--gloss", "sublation", "--gloss-de", "Aufheben; 'x' \"y\" 🌀")
    assert other_glosses.code == 0 and " v2 " in other_glosses.out
    other_german = run_cli(capsys, *add, "--gloss", "sublation", "--gloss-de", "Bewahrung")
    assert other_german.code == 0 and " v3 " in other_german.out
    no_glosses = run_cli(capsys, *add)
    assert no_glosses.code == 0 and " v4 " in no_glosses.out
    rows = _glossary(db_dsn, TERM)
    assert [(r["version"], r["glosses"], r["glosses_de"]) for r in rows[1:]] == [
        (2, ["sublation"], ["Aufheben; 'x' \"y\" 🌀"]), (3, ["sublation"], ["Bewahrung"]), (4, [], [])]
    assert len({r["reference"] for r in rows}) == 1  # only the glosses changed


def test_glossary_list_shows_the_glosses_and_its_json_has_them(capsys, db_dsn):
    assert run_cli(capsys, "glossary", "add", "Lichtung", "Clearing.", "--gloss", "clearing", "--gloss", "glade",
                   "--gloss-de", "Waldlichtung", "--dsn", db_dsn).code == 0
    assert run_cli(capsys, "glossary", "add", "Sorge", "Care.", "--gloss", "care\u202eevil", "--dsn", db_dsn).code == 0
    listed = run_cli(capsys, "glossary", "list", "--json", "--dsn", db_dsn)
    rows = {json.loads(line)["term"]: json.loads(line) for line in listed.out.splitlines()}
    assert rows["Lichtung"]["glosses"] == ["clearing", "glade"] and rows["Lichtung"]["glosses_de"] == ["Waldlichtung"]
    text = run_cli(capsys, "glossary", "list", "--dsn", db_dsn).out.splitlines()
    at = text.index(next(line for line in text if line.startswith("Lichtung  v1")))
    assert text[at + 1] == "    glosses: clearing; glade  (de) Waldlichtung"
    assert "    glosses: care\\u202eevil" in text and "\u202e" not in "\n".join(text)  # printed escaped


def test_import_reads_glosses_from_jsonl_and_csv(capsys, db_dsn, tmp_path):
    jsonl = tmp_path / "g.jsonl"
    jsonl.write_text(json.dumps({"term": "Dasein", "reference": "Being-there.", "language": "de",
                                 "glosses": ["existence", "being-there"], "glosses_de": ["Existenz"]},
                                ensure_ascii=False) + "\n"
                     + json.dumps({"term": "Lichtung", "reference": "Clearing.", "glosses": ["a | b"]}) + "\n",
                     encoding="utf-8")
    result = run_cli(capsys, "glossary", "import", str(jsonl), "--dsn", db_dsn)
    assert result.code == 0 and "2 new version(s)" in result.out, result.err
    assert _glossary(db_dsn, "Dasein")[0]["glosses"] == ["existence", "being-there"]
    assert _glossary(db_dsn, "Lichtung")[0]["glosses"] == ["a | b"]  # in JSONL a gloss may hold a bar
    again = run_cli(capsys, "glossary", "import", str(jsonl), "--dsn", db_dsn)
    assert again.code == 0 and "0 new version(s), 2 unchanged" in again.out

    csv_file = tmp_path / "g.csv"
    csv_file.write_text("term,reference,language,glosses,glosses_de\n"
                        "Dasein,Being-there.,de,existence| being-there ,Existenz\n"   # the same entry
                        'Lichtung,Clearing.,,"clearing|glade, forest clearing",Waldlichtung|Lichtung\n'
                        "Sorge,Care.,de,,\n", encoding="utf-8")
    result = run_cli(capsys, "glossary", "import", str(csv_file), "--dsn", db_dsn)
    assert result.code == 0 and "2 new version(s), 1 unchanged" in result.out, result.out
    newest = _glossary(db_dsn, "Lichtung")[-1]
    assert (newest["version"], newest["glosses"], newest["glosses_de"]) == (
        2, ["clearing", "glade, forest clearing"], ["Waldlichtung", "Lichtung"])
    assert (_glossary(db_dsn, "Sorge")[0]["glosses"], _glossary(db_dsn, "Sorge")[0]["glosses_de"]) == ([], [])


GOOD_LINE = json.dumps({"term": "Neu", "reference": "New.", "glosses": ["new"]})
BAD_GLOSSES = [
    ("blank", {"glosses": ["ok", "  "]}, "gloss 2 is blank"),
    ("too long", {"glosses": ["x" * 201]}, "gloss 1 is longer than 200 characters"),
    ("not text", {"glosses": ["ok", 7]}, "gloss 2 must be text"),
    ("not a list", {"glosses": "sublation"}, "glosses must be a list of texts"),
    ("a NUL", {"glosses_de": ["a\x00b"]}, "German gloss 1 contains a NUL character"),
    ("a control character", {"glosses": ["a\x1bb"]}, "gloss 1 contains the control character U+001B"),
    ("too many", {"glosses_de": [f"g{i}" for i in range(21)]}, "21 German glosses; the limit is 20"),
]


@pytest.mark.parametrize("case, change, message", BAD_GLOSSES, ids=[c for c, _, _ in BAD_GLOSSES])
def test_a_bad_gloss_refuses_the_whole_file(capsys, db_dsn, tmp_path, case, change, message):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(GOOD_LINE + "\n" + json.dumps({"term": "Leer", "reference": "Empty.", **change}) + "\n",
                   encoding="utf-8")
    result = run_cli(capsys, "glossary", "import", str(bad), "--dsn", db_dsn)
    assert result.code == 2 and result.err.count("\n") == 1, result.err
    assert result.err.startswith(f"Error: {bad}, line 2: ") and message in result.err, result.err
    assert query(db_dsn, "select count(*) as n from raw.glossary")[0]["n"] == 0


@pytest.mark.parametrize("cell, message", [("a||b", "gloss 2 is blank"), ("a|", "gloss 2 is blank"),
                                           ("|".join("g" * 21), "21 glosses; the limit is 20")])
def test_a_bad_csv_gloss_cell_refuses_the_whole_file(capsys, db_dsn, tmp_path, cell, message):
    path = tmp_path / "g.csv"
    path.write_text(f"term,reference,glosses\nNeu,New.,new\nLeer,Empty.,{cell}\n", encoding="utf-8")
    result = run_cli(capsys, "glossary", "import", str(path), "--dsn", db_dsn)
    assert result.code == 2 and result.err.startswith(f"Error: {path}, line 3: ") and message in result.err, result.err
    assert query(db_dsn, "select count(*) as n from raw.glossary")[0]["n"] == 0


@pytest.mark.parametrize("argv, message", [
    (["--gloss", " "], "gloss 1 is blank"),
    (["--gloss", "ok", "--gloss-de", "y" * 201], "German gloss 1 is longer than 200 characters"),
    (["--gloss", "a\x07"], "control character U+0007"),
    ([arg for i in range(21) for arg in ("--gloss", f"g{i}")], "21 glosses; the limit is 20"),
])
def test_glossary_add_refuses_a_bad_gloss_and_writes_nothing(capsys, db_dsn, argv, message):
    result = run_cli(capsys, "glossary", "add", "Neu", "New.", *argv, "--dsn", db_dsn)
    assert result.code == 2 and message in result.err and result.err.count("\n") == 1, result.err
    assert query(db_dsn, "select count(*) as n from raw.glossary")[0]["n"] == 0


def test_the_shipped_glosses_are_seeded_with_their_terms(capsys, db_dsn):
    listed = run_cli(capsys, "glossary", "list", "--json", "--dsn", db_dsn)
    rows = {json.loads(line)["term"]: json.loads(line) for line in listed.out.splitlines()}
    shipped = shipped_entries()
    assert len(shipped) == 13
    for entry in shipped:
        row = rows[entry.term]
        assert row["glosses"] == list(entry.glosses) and row["glosses_de"] == list(entry.glosses_de)
        assert 3 <= len(entry.glosses) <= 6, entry.term
        if entry.language == "de":
            assert 3 <= len(entry.glosses_de) <= 6, entry.term
        assert all(len(g.split()) <= 8 for g in entry.glosses + entry.glosses_de), entry.term  # short, not sentences
    assert rows["Aufhebung"]["glosses"][0] == "sublation" and "Bewahrung" in rows["Aufhebung"]["glosses_de"]


def test_every_reader_of_the_glossary_gives_a_judge_the_glosses(capsys, db_dsn, meaning_judge):
    from collector.db.store import Store
    from collector.judge.meaning import Meaning
    from collector.judge.select import JudgeKit
    from collector.write.session import judge_for_term, judge_of_session

    assert run_cli(capsys, "glossary", "add", "Lichtung", "Clearing.", "--de", "Die Lichtung.", "--gloss", "clearing",
                   "--gloss-de", "Waldlichtung", "--dsn", db_dsn).code == 0
    expected = Meaning("Clearing.", "Die Lichtung.", ("clearing",), ("Waldlichtung",))
    with Store.connect(db_dsn) as store:
        current = store.reference_for("Lichtung")
        assert Meaning.from_row(current) == expected
        assert Meaning.from_row(store.glossary_row(current["id"])) == expected
        assert [Meaning.from_row(r) for r in store.list_glossary() if r["term"] == "Lichtung"] == [expected]
        kit = JudgeKit("test-meaning")
        judge = judge_for_term(store, kit, "Lichtung")  # a new session (collect)
        assert judge.meaning == expected and judge.glossary_id == current["id"]
        assert run_cli(capsys, "glossary", "add", "Lichtung", "Clearing.", "--dsn", db_dsn).code == 0
        stored = {"session_id": "s", "term": "Lichtung", "glossary_id": current["id"]}
        assert judge_of_session(store, kit, stored).meaning == expected  # resume, rejudge: the session's version
        assert judge_for_term(store, kit, "Lichtung").meaning == Meaning("Clearing.")  # the newest has none
