"""The terminal of ``nyx-collect label``: one round at a time, full width, one key per answer.

The judge's verdict is never shown (blind labelling), and the rounds come in a shuffled order.
Text from the model is shown through ``collector.core.printable.printable``, so a completion cannot
move the cursor or recolour the terminal. Keys are read one at a time without echo; Ctrl-C, Ctrl-D and
a closed terminal end the session like ``q``: every label given so far is already committed.
"""

from __future__ import annotations

import os
import shutil
import sys
import termios
import textwrap
import tty
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from collector.core.errors import InputError
from collector.write.labels import KEYS, MEANINGS, Candidate, LabelDesk, clean_note
from collector.core.printable import printable

QUIT_KEYS = {"q", "Q", "\x03", "\x04", ""}  # q, Ctrl-C, Ctrl-D, end of input
HELP = "1-5 give a type · s skip · u undo · n note · q quit"


@dataclass
class Outcome:
    given: int
    skipped: int
    left: int
    quit_early: bool


def _block(text: str, width: int, indent: str = "  ") -> str:
    text = printable(text)
    if not text.strip():
        return f"{indent}(empty)"
    lines = []
    for para in text.split("\n"):
        lines.extend(textwrap.wrap(para, width=max(20, width - len(indent)), initial_indent=indent,
                                   subsequent_indent=indent, replace_whitespace=False) or [""])
    return "\n".join(lines)


@dataclass(frozen=True)
class Shown:
    """What the desk shows of a term's meaning: its reference and its accepted glosses."""

    reference: str | None
    glosses: tuple[str, ...] = ()
    glosses_de: tuple[str, ...] = ()


def _glosses_line(shown: Shown) -> str:
    english, german = " · ".join(shown.glosses), " · ".join(shown.glosses_de)
    return "  ".join(part for part in (english, german and f"(de) {german}") if part)


def render(item: Candidate, reference: str | Shown | None, index: int, total: int, labeller: str, width: int,
           note: str | None = None, status: str = "") -> str:
    """The screen for one round: where it is from, the term, its reference meaning and glosses, the
    text the completion answers, the completion, and the keys. Nothing of the judge's verdict."""
    shown = reference if isinstance(reference, Shown) else Shown(reference)
    rule = "─" * max(20, width)
    head = (f"nyx label · {index} of {total} · session {str(item.session_id)[:8]} · run {item.run_number} · "
            f"round {item.round} · labeller {printable(labeller)}")
    meaning = printable(shown.reference) if shown.reference else "(no reference meaning in the glossary)"
    glosses = printable(_glosses_line(shown))
    parts = [
        head, rule,
        f"term:       {printable(item.term)}",
        *textwrap.wrap(f"reference:  {meaning}", width=max(20, width), subsequent_indent=" " * 12),
        *(textwrap.wrap(f"glosses:    {glosses}", width=max(20, width), subsequent_indent=" " * 12)
          if glosses else ()),
        rule,
        "previous text:" if item.round > 1 else "prompt:",
        _block(item.prompt, width),
        "",
        "completion:",
        _block(item.completion, width),
        rule,
        *(f"{key}  {label:<10} {MEANINGS[label]}" for key, label in KEYS.items()),
        status,
        HELP if note is None else f"{HELP}   (note: {printable(note)})",
    ]
    return "\n".join(parts)


class Keys:
    """Single key presses from a terminal: no echo, no line buffering, Ctrl-C as a key."""

    def __init__(self, stream: IO[str]):
        self.stream = stream
        self.fd = stream.fileno()

    @contextmanager
    def raw(self):
        saved = termios.tcgetattr(self.fd)
        try:
            tty.setcbreak(self.fd)
            attrs = termios.tcgetattr(self.fd)
            attrs[3] &= ~termios.ISIG  # Ctrl-C arrives as a key, not as SIGINT
            termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
            yield self
        finally:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, saved)

    def key(self) -> str:
        """One key ('' at the end of input or when the terminal is gone)."""
        try:
            data = os.read(self.fd, 4)
        except OSError:
            return ""
        try:
            return data.decode("utf-8")[:1]
        except UnicodeDecodeError:
            return "?"

    def line(self, prompt: str, write: Callable[[str], None]) -> str | None:
        """A line typed with echo (for a note); None at the end of input."""
        saved = termios.tcgetattr(self.fd)
        attrs = termios.tcgetattr(self.fd)
        attrs[3] |= termios.ICANON | termios.ECHO
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        try:
            write(prompt)
            chunks = []
            while True:
                try:
                    data = os.read(self.fd, 1024)
                except OSError:
                    return None
                if not data:
                    return None
                chunks.append(data)
                if data.endswith(b"\n"):
                    return b"".join(chunks).decode("utf-8", errors="replace").rstrip("\n")
        finally:
            termios.tcsetattr(self.fd, termios.TCSANOW, saved)


def run(desk: LabelDesk, reference_of: Callable[[Candidate], str | Shown | None], keys: Keys,
        write: Callable[[str], None] | None = None, clear: bool = True) -> Outcome:
    """Label ``desk``'s rounds from key presses until they are done or the labeller quits."""
    if write is None:
        def write(text: str) -> None:
            sys.stdout.write(text)
            sys.stdout.flush()
    note: str | None = None
    message = ""
    quit_early = False
    with keys.raw():
        while not desk.done:
            item = desk.current
            assert item is not None
            width = shutil.get_terminal_size((100, 30)).columns
            screen = render(item, reference_of(item), desk.pos + 1, len(desk.items), desk.labeller, width, note,
                            message)
            write(("\x1b[2J\x1b[H" if clear else "\n") + screen + "\n")
            message = ""
            key = keys.key()
            if key in QUIT_KEYS:
                quit_early = True
                break
            if key in KEYS:
                desk.give(KEYS[key], note)
                note = None
            elif key in ("s", "S"):
                desk.skip()
                note = None
            elif key in ("u", "U"):
                note = None
                message = "undone" if desk.undo() else "nothing to undo"
            elif key in ("n", "N"):
                typed = keys.line("note: ", write)
                if typed is None:
                    quit_early = True
                    break
                try:  # a note the database would refuse is refused here, and the round stays unlabelled
                    note = clean_note(typed)
                except InputError as exc:
                    note, message = None, f"note refused: {exc}"
            else:
                message = f"unknown key {printable(key)!r}: use the keys below"
    return Outcome(given=desk.given, skipped=desk.skipped, left=len(desk.items) - desk.pos,
                   quit_early=quit_early)
