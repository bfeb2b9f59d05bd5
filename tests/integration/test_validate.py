"""nyx-collect validate: the development set through the real judge, reference sources, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import run_cli
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
    ("empty file", b"\n\n", "holds no labelled items"),
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
