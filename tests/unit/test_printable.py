"""collector.core.printable: one function makes stored and user text safe to print; the CLI's consoles
read no markup and pass every string through it; the plots draw labels as plain text."""

from __future__ import annotations

import io
import json
import unicodedata

import pytest
from rich.table import Table

from collector.face.options import Screen
from collector.core.printable import HIDDEN_CATEGORIES, KEPT, json_text, printable

ESC, BEL = "\x1b", "\x07"
BIDI = ("\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e",
        "\u200f", "\u061c")

# (text, printable(text), printable(text, line=True))
CASES = [
    ("[bold red]Rot[/bold red]", "[bold red]Rot[/bold red]", "[bold red]Rot[/bold red]"),
    ("[/]", "[/]", "[/]"),
    (":thumbs_up: $x^{", ":thumbs_up: $x^{", ":thumbs_up: $x^{"),
    ("ti\x1b]0;pwned\x07\x1b[31mny", "ti\\x1b]0;pwned\\x07\\x1b[31mny", "ti\\x1b]0;pwned\\x07\\x1b[31mny"),
    ("a\x1b[2Jb", "a\\x1b[2Jb", "a\\x1b[2Jb"),
    ("nul\x00 del\x7f bs\x08 cr\r", "nul\\x00 del\\x7f bs\\x08 cr\\x0d", "nul\\x00 del\\x7f bs\\x08 cr\\x0d"),
    ("c1 \x9b31m \x85 \x90", "c1 \\x9b31m \\x85 \\x90", "c1 \\x9b31m \\x85 \\x90"),
    ("abc\u202edef", "abc\\u202edef", "abc\\u202edef"),
    ("\u2066x\u2067y\u2068z\u2069", "\\u2066x\\u2067y\\u2068z\\u2069", "\\u2066x\\u2067y\\u2068z\\u2069"),
    ("l\u200er\u200f \ufeff \u200b", "l\\u200er\\u200f \\ufeff \\u200b", "l\\u200er\\u200f \\ufeff \\u200b"),
    ("a\u2028b\u2029c", "a\\u2028b\\u2029c", "a\\u2028b\\u2029c"),
    ("two\nlines\tand tab", "two\nlines\tand tab", "two\\x0alines\\x09and tab"),
    ("private \ue000 unassigned \U000e0080 surrogate \udc80", "private \\ue000 unassigned \\U000e0080 "
     "surrogate \\udc80", "private \\ue000 unassigned \\U000e0080 surrogate \\udc80"),
    ("family 👨\u200d👩\u200d👧 ज़्\u200cक Aufhebung 道", "family 👨\u200d👩\u200d👧 ज़्\u200cक Aufhebung 道",
     "family 👨\u200d👩\u200d👧 ज़्\u200cक Aufhebung 道"),
    (12.5, "12.5", "12.5"),
]


@pytest.mark.parametrize("text, shown, one_line", CASES, ids=[ascii(c[0])[:30] for c in CASES])
def test_printable(text, shown, one_line):
    assert printable(text) == shown
    assert printable(text, line=True) == one_line
    assert printable(shown) == shown and printable(one_line, line=True) == one_line  # nothing more to do
    assert not any(unicodedata.category(ch) in HIDDEN_CATEGORIES and ch not in KEPT | {"\n", "\t"} for ch in shown)
    assert "\n" not in one_line and "\t" not in one_line


@pytest.mark.parametrize("code", [*range(0x20), *range(0x7f, 0xa0)])
def test_every_c0_and_c1_control_is_shown_as_an_escape(code):
    assert printable(f"a{chr(code)}b", line=True) == f"a\\x{code:02x}b"


@pytest.mark.parametrize("ch", BIDI)
def test_every_bidi_control_is_shown_as_an_escape(ch):
    assert printable(ch) == f"\\u{ord(ch):04x}"


def _rendered(*items) -> str:
    screen = Screen(width=200, file=io.StringIO())
    for item in items:
        screen.print(item)
    return screen.file.getvalue()


def test_the_consoles_read_no_markup_and_print_every_string_printable():
    table = Table(title="[/] title")
    table.add_column("term [/]")
    for cell in ("[/]", "[bold red]Rot[/bold red]", "ti\x1b]0;x\x07ny", "a\u202eb", ":thumbs_up:"):
        table.add_row(cell)
    shown = _rendered("Model [/] \x1b[2J [bold]x[/bold]", table)
    for literal in ("Model [/] \\x1b[2J [bold]x[/bold]", "[/] title", "term [/]", "[bold red]Rot[/bold red]",
                    "ti\\x1b]0;x\\x07ny", "a\\u202eb", ":thumbs_up:"):
        assert literal in shown
    assert ESC not in shown and BEL not in shown and "\u202e" not in shown


def _hidden(text: str) -> list[str]:
    return [ch for ch in text if ch not in KEPT and unicodedata.category(ch) in HIDDEN_CATEGORIES]


@pytest.mark.parametrize("text", [case[0] for case in CASES if isinstance(case[0], str)] + ["tag \U000e0041 private \ue000 \U000f0000",
                                                                "lone \udc80 surrogate", "zwj \u200d ok"])
def test_json_text_parses_back_to_the_same_value_with_nothing_hidden_in_it(text):
    data = {"term": text, text: [text, 1, None], "n": 2.5}
    for options in ({}, {"indent": 2}, {"default": str}):
        shown = json_text(data, **options)
        assert json.loads(shown) == data
        assert [ch for ch in _hidden(shown) if ch != "\n"] == [], ascii(shown)


def test_json_text_keeps_what_json_dumps_writes_for_plain_text():
    data = {"term": "Aufhebung – „Weltschmerz“ 知识 😀", "rows": [1, 2]}
    assert json_text(data) == json.dumps(data, ensure_ascii=False)
    assert json_text(data, indent=2) == json.dumps(data, ensure_ascii=False, indent=2)
    assert json_text({"c1": "\x9b"}) == '{"c1": "\\u009b"}'
    assert json_text({"bidi": "\u202e"}) == '{"bidi": "\\u202e"}'
    assert json_text({"tag": "\U000e0041"}) == '{"tag": "\\udb40\\udc41"}'
