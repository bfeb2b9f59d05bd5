"""Reading the collector's input files: bounded, UTF-8 (a BOM is dropped), JSON lines checked one by one.

Every defect is an InputError naming the file (and line), so a half-read file is never used.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from collector.core.errors import InputError


def read_utf8(path: Path, max_bytes: int) -> str:
    """The text of ``path``: at most ``max_bytes`` (read bounded: a device or a pipe cannot make it
    read forever), valid UTF-8. A directory or a missing file is not a readable file."""
    try:
        with path.open("rb") as source:
            data = source.read(max_bytes + 1)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise InputError(f"{path} is not a readable file") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > max_bytes:
        raise InputError(f"{path} is larger than {max_bytes // (1024 * 1024)} MiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not valid UTF-8 (byte {exc.start})") from None


def json_objects(path: Path, text: str, max_items: int | None = None) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-blank line of ``text``, each a JSON object."""
    count = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}, line {number}: not JSON ({exc.msg})") from None
        except ValueError:  # Python refuses to convert a whole number longer than its limit
            raise InputError(f"{path}, line {number}: a number of more than {sys.get_int_max_str_digits()} "
                             "digits") from None
        except RecursionError:  # arrays or objects nested deeper than the parser's stack
            raise InputError(f"{path}, line {number}: nested too deeply to read") from None
        if not isinstance(row, dict):
            raise InputError(f"{path}, line {number}: each line must be a JSON object")
        count += 1
        if max_items is not None and count > max_items:
            raise InputError(f"{path} holds more than {max_items} items")
        yield number, row


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def check_text(value: str, what: str) -> str:
    """``value`` if PostgreSQL can store it as text, else InputError naming ``what``: refused are a
    NUL character (the database refuses it) and a lone surrogate (not UTF-8; JSON's ``"\\ud800"``).
    The one check of every text field read from a file or the command line before it is stored."""
    bad = _UNSTORABLE.search(value)
    if bad is None:
        return value
    if bad.group() == "\x00":
        raise InputError(f"the {what} contains a NUL character")
    raise InputError(f"the {what} is not valid UTF-8 (a lone surrogate)")
