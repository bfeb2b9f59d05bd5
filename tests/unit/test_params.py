"""Validation of terms and numbers: every refusal is one line and names the offending value."""

from pathlib import Path

import pytest

from collector.core.errors import InputError
from collector.core.params import (
    CHAMPIONS,
    DEFAULT_PROMPT_TEMPLATE,
    MAX_LIMIT,
    MAX_TERM_CHARS,
    MAX_TOP_K,
    MIN_TEMPERATURE,
    check_limit,
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


# --- one normalisation for every source of terms (issue 13) -------------------------------------

NORMALISED = [
    ("\ufeffAufhebung", "Aufhebung"),  # a BOM from a file or a pasted argument
    ("Aufhebung\ufeff", "Aufhebung"),
    ("\u200bWille\u200b", "Wille"),  # zero-width spaces at the ends
    ("\u2060 Pflicht \u2060", "Pflicht"),  # word joiners and blanks
    ("\u200eאמת\u200f", "אמת"),  # direction marks
    ("\u00a0Vernunft\u3000", "Vernunft"),  # no-break and ideographic spaces
    ("  Geist \r", "Geist"),  # the end of a CRLF line
    ("\u0085Erkenntnis\u2028", "Erkenntnis"),  # separators at the ends are white space
    ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),  # joiners inside stay
    *[(flag, flag) for flag in ["🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"]],  # tags end a flag
    ("می\u200cخواهم", "می\u200cخواهم"),  # a zero-width non-joiner inside a Persian word
    ("Ge\u00adworfenheit", "Ge\u00adworfenheit"),  # a soft hyphen inside
    # issue 20: one term, one spelling - the composed form (NFC), whichever way it was typed
    ("e\u0301", "\u00e9"),  # a combining accent after a letter: composed
    ("Gemu\u0308tlichkeit", "Gem\u00fctlichkeit"),  # NFD (as macOS file names and some keyboards give it)
    ("Gem\u00fctlichkeit", "Gem\u00fctlichkeit"),
    ("q\u0301", "q\u0301"),  # no composed form: the combining accent stays
    ("\u212b", "\u00c5"),  # the angstrom sign is the letter Å in NFC
]


@pytest.mark.parametrize("raw, term", NORMALISED, ids=[ascii(r)[:30] for r, _ in NORMALISED])
def test_terms_are_normalised_alike_from_every_source(raw, term):
    assert validate_term(raw) == term


REFUSED = [
    ("\u200b", "blank"), ("\ufeff", "blank"), ("\u200b\ufeff\u2060", "blank"),
    ("\u200d", "no visible character"), ("\u200c\u200d", "no visible character"),
    ("\u0301", "no visible character"), ("\u00ad\u00ad", "no visible character"),
    ("\U000e0067\U000e007f", "no visible character"),
    ("Auf\ufeffhebung", "byte-order mark"),
    ("Auf\u2028hebung", "line separator U+2028"), ("Auf\u2029hebung", "paragraph separator U+2029"),
    ("Auf\u0085hebung", "U+0085"), ("Auf\x1chebung", "U+001C"), ("Auf\x1ehebung", "U+001E"),
    ("Auf\x0bhebung", "U+000B"), ("Auf\x0chebung", "U+000C"), ("Auf\rhebung", "U+000D"),
    ("Auf\udcffhebung", "not valid UTF-8"), ("\ud800", "not valid UTF-8"),
    ("\u200b" + "a" * MAX_TERM_CHARS + "b", "limit"),
]


@pytest.mark.parametrize("raw, fragment", REFUSED, ids=[ascii(r)[:30] for r, _ in REFUSED])
def test_terms_refused_alike_from_every_source(raw, fragment):
    with pytest.raises(InputError) as info:
        validate_term(raw)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_a_terms_file_splits_at_line_feeds_only(tmp_path):
    path = tmp_path / "terms.txt"
    path.write_bytes("\ufeffAufhebung\r\nWille\u200b\r\n\r\nPflicht".encode())
    assert read_terms_file(path) == ["Aufhebung", "Wille", "Pflicht"]
    for separator, code in (("\u2028", "U+2028"), ("\u0085", "U+0085"), ("\x1c", "U+001C"), ("\x0c", "U+000C")):
        path.write_bytes(f"ok\nAufhebung{separator}Wille\n".encode())
        with pytest.raises(InputError, match=f"line 2: .*{code.replace('+', '[+]')}"):
            read_terms_file(path)


def test_a_terms_file_is_read_bounded(tmp_path):
    with pytest.raises(InputError, match="larger than"):
        read_terms_file(Path("/dev/zero"))
    with pytest.raises(InputError, match="is a directory"):
        read_terms_file(tmp_path)


@pytest.mark.parametrize("change, fragment", [
    (dict(top_k=2**31), "--top-k"), (dict(top_k=MAX_TOP_K + 1), "--top-k"),
    (dict(temperature=1e-300), "--temperature"), (dict(temperature=MIN_TEMPERATURE / 2), "--temperature"),
    (dict(temperature=float("inf")), "--temperature"), (dict(temperature=-0.0 - 1e-9), "--temperature"),
    (dict(prompt_template="The \udcff {term}"), "not valid UTF-8"),
])  # fmt: skip
def test_more_bad_numbers(change, fragment):
    with pytest.raises(InputError, match=fragment.replace("+", "[+]")):
        validate_params(**{**GOOD, **change})


def test_the_bounds_themselves_are_accepted():
    assert validate_params(**{**GOOD, "temperature": MIN_TEMPERATURE, "top_k": MAX_TOP_K}).top_k == MAX_TOP_K
    assert validate_params(**{**GOOD, "temperature": 0.0}).temperature == 0.0
    assert check_limit("--limit", 1) == 1 and check_limit("--limit", MAX_LIMIT) == MAX_LIMIT
    for bad in (0, -1, MAX_LIMIT + 1, 2**31):
        with pytest.raises(InputError, match="--limit"):
            check_limit("--limit", bad)
