"""Validation of terms and numbers: every refusal is one line and names the offending value."""

import pytest

from collector.errors import InputError
from collector.params import (
    CHAMPIONS,
    DEFAULT_PROMPT_TEMPLATE,
    MAX_TERM_CHARS,
    gather_terms,
    read_terms_file,
    validate_params,
    validate_term,
)

GOOD = dict(runs=10, temperature=0.8, top_p=0.95, top_k=50, max_rounds=3, max_new_tokens=48, seed=None,
            batch_size=None, prompt_template=DEFAULT_PROMPT_TEMPLATE)


@pytest.mark.parametrize(
    "term",
    ["Aufhebung", "l'être", 'say "hi"; DROP TABLE x; --', "Geworfenheit 🌀", "認識", "👨‍👩‍👧", "a" * MAX_TERM_CHARS],
)
def test_terms_kept_verbatim(term):
    assert validate_term(term) == term


def test_surrounding_whitespace_is_trimmed():
    assert validate_term("  Vernunft \n") == "Vernunft"


@pytest.mark.parametrize(
    "term, fragment",
    [("", "blank"), ("   ", "blank"), ("a\tb", "U+0009"), ("a\x00b", "U+0000"), ("x\u2028y", "U+2028"),
     ("a" * (MAX_TERM_CHARS + 1), "limit")],
)
def test_bad_terms(term, fragment):
    with pytest.raises(InputError) as info:
        validate_term(term)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "change, fragment",
    [
        (dict(runs=0), "--runs"), (dict(runs=-3), "--runs"),
        (dict(temperature=-0.1), "--temperature"), (dict(temperature=float("nan")), "--temperature"),
        (dict(top_p=0), "--top-p"), (dict(top_p=1.5), "--top-p"),
        (dict(top_k=-1), "--top-k"),
        (dict(max_rounds=0), "--max-rounds"), (dict(max_rounds=4), "--max-rounds"),
        (dict(max_new_tokens=0), "--max-new-tokens"),
        (dict(seed=-1), "--seed"), (dict(seed=2**63), "--seed"),
        (dict(batch_size=0), "--batch-size"),
        (dict(prompt_template="no placeholder"), "{term}"),
    ],
)
def test_bad_numbers(change, fragment):
    with pytest.raises(InputError) as info:
        validate_params(**{**GOOD, **change})
    assert fragment in str(info.value)


def test_good_params_and_top_k_zero_means_all():
    params = validate_params(**{**GOOD, "top_k": 0})
    assert params.top_k is None and params.runs == 10


def test_terms_file(tmp_path):
    path = tmp_path / "terms.txt"
    path.write_text("Aufhebung\n\n  Wille  \nl'être; x\n", encoding="utf-8")
    assert read_terms_file(path) == ["Aufhebung", "Wille", "l'être; x"]


def test_terms_file_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_terms_file(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(InputError, match="no terms"):
        read_terms_file(empty)
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00x")
    with pytest.raises(InputError, match="UTF-8"):
        read_terms_file(binary)
    bad_line = tmp_path / "bad.txt"
    bad_line.write_text("ok\nbad\x01term\n")
    with pytest.raises(InputError, match="line 2"):
        read_terms_file(bad_line)


def test_gather_terms_dedupes_and_adds_champions():
    assert gather_terms(["Wille", "Wille"], None, True) == ["Wille"] + [c for c in CHAMPIONS if c != "Wille"]
    with pytest.raises(InputError, match="no term"):
        gather_terms([], None, False)
