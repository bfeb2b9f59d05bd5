"""The one way any text becomes safe to print: ``printable``.

Terms, prompt templates, model names and paths, glossary entries, labels, completions and the
messages of errors are data; printed as they are, an escape sequence in one moves the cursor,
recolours or retitles the terminal, and a bidi override reorders the line around it. Every printer
of the CLI (its consoles, ``echo``, the error line, the progress bar, the label screen, the plots)
passes text through ``printable``; rich markup is off on its consoles, so ``[bold]`` prints as typed.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Control, format (bidi overrides and isolates, direction marks, zero-width spaces), surrogate,
private-use and unassigned characters, and line and paragraph separators: shown as escapes."""

KEPT = frozenset({"\u200c", "\u200d"})
"""Zero-width (non-)joiners: format characters that only join glyphs (emoji sequences, Indic
scripts) and can move nothing on a terminal; shown as themselves."""


def _shown(ch: str) -> bool:
    """Whether ``ch`` is printed as itself: not of HIDDEN_CATEGORIES, or one of KEPT."""
    return ch in KEPT or unicodedata.category(ch) not in HIDDEN_CATEGORIES


def printable(text: object, *, line: bool = False) -> str:
    """``text`` (``str()`` of anything) with every character of HIDDEN_CATEGORIES shown as
    ``\\xNN`` / ``\\uNNNN`` / ``\\UNNNNNNNN``: ESC, BEL, NUL, C1 controls, U+202E, U+2066-2069 ...

    Newlines and tabs are kept, unless ``line``: a field of one line (an error line, a progress
    label, a table cell) shows them as ``\\x0a`` and ``\\x09`` too. Applying it twice changes
    nothing more: its output holds no hidden character.
    """
    out = []
    for ch in str(text):
        if _shown(ch) or (ch in "\n\t" and not line):
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


def json_text(data: Any, **dump_options: Any) -> str:
    """``json.dumps(data, ensure_ascii=False, ...)`` whose output holds no hidden character either.

    ``json.dumps`` escapes only C0 controls: a C1 control (U+009B is CSI on some terminals) or a bidi
    override in a completion, a model path or a gloss would reach the terminal of whoever reads the
    ``--json`` lines. Every such character is written as its JSON escape (``\\u009b``, a surrogate
    pair above U+FFFF), so the text parses back to the same value and prints inert. The newlines of
    ``indent`` stay; inside strings ``json.dumps`` has already escaped them.
    """
    out = []
    for ch in json.dumps(data, ensure_ascii=False, **dump_options):
        if _shown(ch) or ch == "\n":
            out.append(ch)
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            high, low = divmod(ord(ch) - 0x10000, 0x400)
            out.append(f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}")
    return "".join(out)
