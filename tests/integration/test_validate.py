"""nyx-collect validate: the development set through the real judge, reference sources, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import run_cli
from tests.meaning_judge import meaning_judge  # noqa: F401  (a fixture)
from tests.integration.test_devset_accuracy import devset_path

REPO = Path(__file__).resolve().parents[2]
MIN_ACCURACY, MIN_KAPPA, MIN_CONTINUE_STOP = 0.75, 0.65, 0.80


def _shared(name: str) -> Path:
    path = devset_path().with_name(name)
    if not path.is_file():
        pytest.skip(f"{path} not found (set NYX_DEVSET to the development set)")
    return path


def test_validate_reports_the_development_set_through_the_real_judge(capsys):
    devset, references = _shared("echo_labelled.jsonl"), _shared("echo_terms.jsonl")
    result = run_cli(capsys, "validate", str(devset), "--references", str(references), "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert {"n", "accuracy", "kappa", "continue_stop_accuracy", "confusion"} <= set(report)
    assert report["n"] == 48 and report["modes"] == {"reference": 48}
    intervals = report["intervals"]
    assert intervals["terms"] == report["terms"] == 6 and intervals["resamples"] == 2000
    for figure in ("accuracy", "kappa", "continue_stop_accuracy", "continue_stop_kappa"):
        low, high = intervals[figure]
        assert low <= report[figure] <= high and high - low > 0.05, (figure, low, high)
    assert sum(sum(row.values()) for row in report["confusion"].values()) == 48
    table = run_cli(capsys, "validate", str(devset), "--references", str(references))
    assert table.code == 0, table.err
    with capsys.disabled():
        print("\n" + table.out)
    assert report["accuracy"] >= MIN_ACCURACY
    assert report["kappa"] >= MIN_KAPPA
    assert report["continue_stop_accuracy"] >= MIN_CONTINUE_STOP
    # docs/validity.md quotes exactly what validate prints today
    validity = (REPO / "docs" / "validity.md").read_text(encoding="utf-8")
    for line in table.out.splitlines()[1:4]:
        assert line.strip() in validity, f"docs/validity.md lacks {line.strip()!r}: re-run validate and paste it"


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


ITEMS = [
    {"term": "photosynthesis", "prev": 'The word "photosynthesis" means',
     "text": "the process by which green plants use sunlight, water and carbon dioxide to make glucose and oxygen.",
     "label": "EXPANDS"},
    {"term": "photosynthesis", "prev": 'The word "photosynthesis" means',
     "text": "a brand of running shoes sold in Ohio since 1998, famous for their bright soles.", "label": "DIVERGENT"},
]


def test_references_come_from_the_item_the_file_the_glossary_or_else_the_frame(capsys, tmp_path, db_dsn):
    plain = _write(tmp_path / "plain.jsonl", ITEMS)
    own = _write(tmp_path / "own.jsonl", [{**i, "reference": "Plants turning light into sugar."} for i in ITEMS])
    refs = _write(tmp_path / "refs.jsonl", [{"term": "photosynthesis", "reference": "Plants making sugar from light."}])

    def modes(*argv):
        result = run_cli(capsys, "validate", *argv, "--json")
        assert result.code == 0, result.err
        return json.loads(result.out)["modes"]

    assert modes(str(own), "--no-glossary") == {"reference": 2}
    assert modes(str(plain), "--references", str(refs), "--no-glossary") == {"reference": 2}
    assert modes(str(plain), "--no-glossary") == {"frame": 2}
    assert modes(str(plain), "--dsn", db_dsn) == {"reference": 2}  # photosynthesis ships a reference meaning
    other = _write(tmp_path / "other.jsonl", [{**i, "term": "Zeitgeistmaschine"} for i in ITEMS])
    assert modes(str(other), "--dsn", db_dsn) == {"frame": 2}


BAD = [
    ("missing file", None, "is not a readable file"),
    ("not UTF-8", b'{"term": "x\xff", "prev": "p", "text": "t", "label": "EXPANDS"}\n', "not valid UTF-8"),
    ("not JSON", b"{oops\n", "not JSON"),
    ("not an object", b"[1, 2]\n", "must be a JSON object"),
    ("unknown label", b'{"term": "x", "prev": "p", "text": "t", "label": "MAYBE"}\n', "is not one of"),
    ("missing text", b'{"term": "x", "prev": "p", "label": "EXPANDS"}\n', "missing or non-text"),
    ("blank term", b'{"term": "  ", "prev": "p", "text": "t", "label": "EXPANDS"}\n', "term is blank"),
    ("bad round", b'{"term": "x", "prev": "p", "text": "t", "label": "EXPANDS", "round": 7}\n', "round must be"),
    ("blank gloss", b'{"term": "x", "prev": "p", "text": "t", "label": "EXPANDS", "glosses": [" "]}\n',
     "line 1: the gloss 1 is blank"),
    ("glosses not a list", b'{"term": "x", "prev": "p", "text": "t", "label": "EXPANDS", "glosses_de": "y"}\n',
     "line 1: the German glosses must be a list of texts"),
    ("empty file", b"\n\n", "holds no labelled items"),
    ("unknown second label", b'{"term": "x", "prev": "p", "text": "t", "label": "EXPANDS", "label_b": "MAYBE"}\n',
     "line 1: label_b 'MAYBE' is not one of"),
    ("readers never agree", b'{"term": "x", "prev": "p", "text": "t", "label": "EXPANDS", "label_b": "COLLAPSE"}\n',
     "disagree on every item"),
]


@pytest.mark.parametrize("case, content, message", BAD, ids=[b[0] for b in BAD])
def test_bad_labelled_files_get_one_line_and_exit_2(capsys, tmp_path, case, content, message):
    path = tmp_path / "set.jsonl"
    if content is not None:
        path.write_bytes(content)
    result = run_cli(capsys, "validate", str(path), "--no-glossary")
    assert result.code == 2, result.err
    assert result.err.startswith("Error:") and result.err.count("\n") == 1 and message in result.err, result.err
    assert result.out == ""


def test_glosses_come_from_the_item_the_file_or_the_glossary_row_of_the_term(capsys, tmp_path, db_dsn,
                                                                            meaning_judge):
    from collector.core.glossary import shipped_entries
    from collector.judge.meaning import Meaning

    shipped = {e.term: e for e in shipped_entries()}["photosynthesis"]
    terms = ["photosynthesis", "Zeitgeistmaschine"]
    plain = _write(tmp_path / "plain.jsonl", [{**ITEMS[0], "term": t} for t in terms])
    refs = _write(tmp_path / "refs.jsonl", [{"term": t, "reference": f"Our reading of {t}."} for t in terms])

    def seen(*argv) -> dict:
        result = run_cli(capsys, "validate", *argv, "--judge", "test-meaning", "--json")
        assert result.code == 0, result.err
        return dict(meaning_judge.seen)

    # a references file without glosses: the reference from the file, the glosses from the glossary row
    got = seen(str(plain), "--references", str(refs), "--dsn", db_dsn)
    assert got["photosynthesis"] == Meaning("Our reading of photosynthesis.", None, shipped.glosses, ())
    assert got["Zeitgeistmaschine"] == Meaning("Our reading of Zeitgeistmaschine.")  # no row: no glosses
    # ... unless --no-glossary
    got = seen(str(plain), "--references", str(refs), "--no-glossary")
    assert got["photosynthesis"] == Meaning("Our reading of photosynthesis.")
    # no reference anywhere but the glossary: its whole row
    got = seen(str(plain), "--dsn", db_dsn)
    assert got["photosynthesis"] == Meaning(shipped.reference, None, shipped.glosses, ())
    assert got["Zeitgeistmaschine"] is None  # frame mode
    # the file's glosses win over the glossary's (English and German together) ...
    glossed = _write(tmp_path / "glossed.jsonl", [{"term": "photosynthesis", "reference": "Light to sugar.",
                                                   "glosses_de": [" Photo\u0073ynthese ", "Photosynthese"]}])
    got = seen(str(plain), "--references", str(glossed), "--dsn", db_dsn)
    assert got["photosynthesis"] == Meaning("Light to sugar.", None, (), ("Photosynthese",))
    # ... and the item's over both, also beside the item's own reference
    own = _write(tmp_path / "own.jsonl", [{**ITEMS[0], "reference": "Mine.", "glosses": ["sugar from light"]}])
    got = seen(str(own), "--references", str(glossed), "--dsn", db_dsn)
    assert got["photosynthesis"] == Meaning("Mine.", None, ("sugar from light",), ())
    bare = _write(tmp_path / "bare.jsonl", [{**ITEMS[0], "reference": "Mine."}])
    assert seen(str(bare), "--dsn", db_dsn)["photosynthesis"] == Meaning("Mine.", None, shipped.glosses, ())


def test_a_bad_gloss_in_the_references_file_names_its_line(capsys, tmp_path):
    items = _write(tmp_path / "items.jsonl", ITEMS)
    refs = _write(tmp_path / "refs.jsonl", [{"term": "gravity", "reference": "Attraction."},
                                            {"term": "photosynthesis", "reference": "Light.", "glosses": ["x" * 201]}])
    result = run_cli(capsys, "validate", str(items), "--references", str(refs), "--no-glossary")
    assert result.code == 2 and result.err.count("\n") == 1, result.err
    assert f"{refs}, line 2: the gloss 1 is longer than 200 characters" in result.err


def test_a_judge_that_reads_no_glosses_needs_no_database_when_every_item_has_a_reference(capsys, tmp_path):
    refs = _write(tmp_path / "refs.jsonl", [{"term": "photosynthesis", "reference": "Plants making sugar."}])
    plain = _write(tmp_path / "plain.jsonl", ITEMS)
    # ref-2 reads no glosses: nothing to look up, so an unreachable database is never asked
    result = run_cli(capsys, "validate", str(plain), "--references", str(refs), "--json", "--judge", "ref-2",
                     "--dsn", "postgresql://nobody@127.0.0.1:1/none")
    assert result.code == 0, result.err
    assert json.loads(result.out)["modes"] == {"reference": 2}
    # ref-3 reads glosses and would look them up; --no-glossary keeps it off the database too
    result = run_cli(capsys, "validate", str(plain), "--references", str(refs), "--json", "--no-glossary",
                     "--dsn", "postgresql://nobody@127.0.0.1:1/none")
    assert result.code == 0, result.err
    assert json.loads(result.out)["modes"] == {"reference": 2}
    looked_up = run_cli(capsys, "validate", str(plain), "--references", str(refs), "--json",
                        "--dsn", "postgresql://nobody@127.0.0.1:1/none")
    assert looked_up.code == 4 and "cannot connect" in looked_up.err


def test_a_file_read_by_two_readers_is_compared_where_they_agree(capsys, tmp_path):
    """The shared research sets carry two readers' labels (label, label_b): validate compares the judge
    with the rows they agree on and reports their own agreement beside it; --every-row keeps the others
    with the first reader's label."""
    rows = [{**ITEMS[0], "label_b": "EXPANDS"}, {**ITEMS[1], "label_b": "DIVERGENT"},
            {**ITEMS[0], "text": ITEMS[0]["text"] + " Also in algae.", "label_b": "CONFIRMS"},  # they disagree
            {**ITEMS[1], "text": "a film of 2003."}]  # one reader only: kept
    path = _write(tmp_path / "two.jsonl", [{**r, "reference": "Plants making sugar from light."} for r in rows])

    def report(*argv) -> dict:
        result = run_cli(capsys, "validate", str(path), "--no-glossary", "--json", *argv)
        assert result.code == 0, result.err
        return json.loads(result.out)

    agreed = report()
    assert agreed["n"] == 3 and sum(sum(r.values()) for r in agreed["confusion"].values()) == 3
    assert agreed["readers"]["rows"] == 3 and agreed["readers"]["left_out"] == 1
    assert agreed["readers"]["accuracy"] == pytest.approx(2 / 3)
    assert agreed["readers"]["continue_stop_accuracy"] == 1.0  # EXPANDS and CONFIRMS both continue
    every = report("--every-row")
    assert every["n"] == 4 and every["readers"]["left_out"] == 0
    assert every["confusion"]["EXPANDS"] != agreed["confusion"]["EXPANDS"]  # the disagreed row, as reader a has it
    shown = run_cli(capsys, "validate", str(path), "--no-glossary")
    assert shown.code == 0, shown.err
    assert ("two readers on 3 rows agree 0.667 (kappa" in shown.out
            and "left out: 1 row where they disagree" in shown.out), shown.out
    one_reader = _write(tmp_path / "one.jsonl", [{**r, "reference": "Plants."} for r in ITEMS])
    result = run_cli(capsys, "validate", str(one_reader), "--no-glossary", "--json")
    assert json.loads(result.out)["readers"] is None


def test_intervals_resample_the_terms_and_can_be_turned_off(capsys, tmp_path):
    """Five terms, two rounds each: the figures get intervals over the terms; --resamples 0 prints
    none and says so; a resample count out of range is one line and exit 2, before any judging."""
    rows = [{**item, "term": term, "prev": f'The word "{term}" means', "reference": "Plants making sugar from light."}
            for term in ("alpha", "beta", "gamma", "delta", "epsilon") for item in ITEMS]
    path = _write(tmp_path / "five.jsonl", rows)
    result = run_cli(capsys, "validate", str(path), "--no-glossary", "--json", "--resamples", "500")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["terms"] == 5 and report["intervals"]["terms"] == 5 and report["intervals"]["resamples"] == 500
    low, high = report["intervals"]["accuracy"]
    assert low <= report["accuracy"] <= high
    shown = run_cli(capsys, "validate", str(path), "--no-glossary")
    assert "intervals: 95%, the set's 5 terms resampled with replacement 2000 times (seed 0)" in shown.out, shown.out
    assert f"accuracy              {report['accuracy']:.3f} [" in shown.out
    off = run_cli(capsys, "validate", str(path), "--no-glossary", "--resamples", "0")
    assert off.code == 0 and "no intervals: 5 terms" in off.out and " [" not in off.out.splitlines()[1], off.out
    assert json.loads(run_cli(capsys, "validate", str(path), "--no-glossary", "--json", "--resamples", "0").out)[
        "intervals"] is None
    few = _write(tmp_path / "two_terms.jsonl", rows[:4])
    assert "no intervals: 2 terms (they need 5 or more" in run_cli(capsys, "validate", str(few), "--no-glossary").out
    bad = run_cli(capsys, "validate", str(path), "--no-glossary", "--resamples", "5")
    assert bad.code == 2 and bad.out == ""
    assert bad.err.strip().splitlines() == ["Error: --resamples must be 0 (no intervals) or from 200 to 100000, not 5"]
