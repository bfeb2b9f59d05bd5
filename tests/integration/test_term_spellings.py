"""One term, whichever way it is spelled (issue 20): the composed (NFC) and decomposed (NFD) spellings
of Gemütlichkeit are one term in every entry point, and what is stored is the composed one."""

from __future__ import annotations

import json
import unicodedata

from tests.cli_helpers import query, run_cli
from tests.meaning_judge import meaning_judge  # noqa: F401  (a fixture)

NFC = "Gem\u00fctlichkeit"  # u with diaeresis, one code point
NFD = "Gemu\u0308tlichkeit"  # u and a combining diaeresis: looks the same, other code points


def test_the_two_spellings_look_alike_and_differ():
    assert NFC != NFD and unicodedata.normalize("NFC", NFD) == NFC


def test_collect_glossary_and_labels_take_both_spellings_as_one_term(capsys, db_dsn, tiny_model_dir, tmp_path):
    collected = run_cli(capsys, NFD, NFC, "--runs", "2", "--max-new-tokens", "3", "--seed", "1", "--no-iris",
                        "--model", str(tiny_model_dir), "--dsn", db_dsn, "--quiet", "--json")
    assert collected.code == 0, collected.err
    sessions = query(db_dsn, "select session_id::text as sid, term from raw.probe_sessions")
    assert [s["term"] for s in sessions] == [NFC]  # one session, one pool: not a pair "X vs X" in analyze
    sid = sessions[0]["sid"]

    assert run_cli(capsys, "glossary", "add", NFD, "Cosiness.", "--lang", "de", "--dsn", db_dsn).code == 0
    same = run_cli(capsys, "glossary", "add", NFC, "Cosiness.", "--lang", "de", "--dsn", db_dsn)
    assert same.code == 0 and same.out.startswith("unchanged: "), same.out
    entries = tmp_path / "g.jsonl"
    entries.write_text(json.dumps({"term": NFD, "reference": "Cosiness.", "language": "de"}) + "\n", encoding="utf-8")
    imported = run_cli(capsys, "glossary", "import", str(entries), "--dsn", db_dsn)
    assert imported.code == 0 and "0 new version(s), 1 unchanged" in imported.out, imported.out
    stored = query(db_dsn, "select term, version from raw.glossary where term in (%s, %s)", (NFC, NFD))
    assert stored == [{"term": NFC, "version": 1}]

    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps({"session_id": sid, "run_number": 1, "round": 1, "label": "EXPANDS",
                                  "labeller": "ann", "term": NFD}) + "\n", encoding="utf-8")
    result = run_cli(capsys, "label", "import", str(labels), "--dsn", db_dsn)
    assert result.code == 0, result.err  # the decomposed claim names the stored (composed) term
    exported = run_cli(capsys, "label", "export", "-", "--term", NFD, "--dsn", db_dsn)
    assert [json.loads(line)["term"] for line in exported.out.splitlines()] == [NFC]


def test_validate_judges_both_spellings_as_one_term(capsys, tmp_path, meaning_judge):
    items = tmp_path / "set.jsonl"
    items.write_text("".join(json.dumps({"term": term, "prev": f'The word "{term}" means', "text": "cosiness.",
                                         "label": "CONFIRMS"}) + "\n" for term in (NFC, NFD)), encoding="utf-8")
    result = run_cli(capsys, "validate", str(items), "--no-glossary", "--judge", "test-meaning", "--json")
    assert result.code == 0, result.err
    assert list(meaning_judge.seen) == [NFC]  # one judge for the term, built once
