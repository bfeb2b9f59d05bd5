"""The labelling sample (stratified, reproducible, nested) and the blind screen of one round."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from collector.core.errors import InputError
from collector.face.labelling import Shown, render
from collector.core.printable import printable
from collector.write.labels import KEYS, MEANINGS, Candidate, labeller_name, sample_rounds

SESSION = uuid.UUID("00000000-0000-0000-0000-0000000000aa")


def candidates(counts: dict[tuple[int, str], int]) -> list[Candidate]:
    """``counts[(round, type)]`` rounds of each stratum, numbered runs."""
    out, run = [], 0
    for (round_, judge_type), n in sorted(counts.items()):
        for _ in range(n):
            run += 1
            out.append(Candidate(SESSION, run, round_, "Aufhebung", "m", None, f"prompt {run}", f"text {run}",
                                 judge_type))
    return out


SKEWED = {(1, "DIVERGENT"): 300, (1, "EXPANDS"): 4, (2, "DIVERGENT"): 80, (2, "COLLAPSE"): 2, (3, "CONFIRMS"): 1,
          (3, "CIRCULAR"): 40}


def test_every_stratum_is_represented_before_any_gets_a_second_round():
    drawn = sample_rounds(candidates(SKEWED), 6, seed=3)
    assert Counter(c.stratum for c in drawn) == Counter(dict.fromkeys(SKEWED, 1))
    drawn = sample_rounds(candidates(SKEWED), 20, seed=3)
    per = Counter(c.stratum for c in drawn)
    assert per[(3, "CONFIRMS")] == 1 and per[(2, "COLLAPSE")] == 2 and per[(1, "EXPANDS")] == 4
    # the rest is spread evenly over the strata that still have rounds
    assert {per[(1, "DIVERGENT")], per[(2, "DIVERGENT")], per[(3, "CIRCULAR")]} == {4, 5}
    assert sum(per.values()) == 20 and len({c.key for c in drawn}) == 20


def test_the_sample_is_reproducible_nested_and_seeded():
    pool = candidates(SKEWED)
    a = sample_rounds(pool, 30, seed=7)
    assert [c.key for c in a] == [c.key for c in sample_rounds(list(reversed(pool)), 30, seed=7)]
    assert {c.key for c in sample_rounds(pool, 12, seed=7)} <= {c.key for c in a}
    assert {c.key for c in sample_rounds(pool, 30, seed=8)} != {c.key for c in a}


def test_the_order_shown_is_shuffled_not_grouped_by_the_judges_type():
    drawn = sample_rounds(candidates(SKEWED), 40, seed=1)
    runs_of_same_type = sum(1 for x, y in zip(drawn, drawn[1:]) if x.judge_type == y.judge_type)
    assert runs_of_same_type < 25  # grouped by stratum it would be 34


def test_asking_for_more_than_there_is_gives_everything_once():
    pool = candidates({(1, "EXPANDS"): 3, (2, "COLLAPSE"): 2})
    assert sorted(c.key for c in sample_rounds(pool, 100)) == sorted(c.key for c in pool)
    with pytest.raises(InputError):
        sample_rounds(pool, 0)


def test_the_screen_is_blind_to_the_judges_verdict():
    base = candidates({(2, "EXPANDS"): 1})[0]
    screens = {render(Candidate(**{**base.__dict__, "judge_type": t}), "the ref", 1, 5, "ann", 100)
               for t in MEANINGS}
    assert len(screens) == 1
    (screen,) = screens
    assert "judge" not in screen.lower()
    for key, label in KEYS.items():
        assert f"{key}  {label}" in screen and MEANINGS[label] in screen
    assert "previous text:" in screen and "prompt 1" in screen and "text 1" in screen and "the ref" in screen


def test_the_screen_shows_the_glosses_under_the_reference_escaped():
    item = candidates({(1, "EXPANDS"): 1})[0]
    shown = Shown("the ref", ("sublation", "lift\x1b[2Jing up"), ("Aufheben", "Bewahrung"))
    lines = render(item, shown, 1, 5, "ann", 100).splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith("reference:  the ref"))
    assert lines[at + 1] == "glosses:    sublation · lift\\x1b[2Jing up  (de) Aufheben · Bewahrung"
    assert "\x1b" not in "\n".join(lines)
    plain = render(item, "the ref", 1, 5, "ann", 100)
    assert "glosses:" not in plain and render(item, Shown("the ref"), 1, 5, "ann", 100) == plain


def test_model_text_cannot_drive_the_terminal():
    text = "fine\x1b[2J\x1b]0;owned\x07 \u202eevil\u2028next"
    shown = printable(text)
    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown and "\u2028" not in shown
    assert "\\x1b[2J" in shown and "\\u202e" in shown and shown.startswith("fine")


@pytest.mark.parametrize("name, ok", [
    ("ann", "ann"), ("  Ann Smith ", "Ann Smith"), ("Jürgen", "Jürgen"), ("", None), ("   ", None),
    ("a\tb", None), ("a\u200bb", None), ("x" * 201, None), ("o'brien; --", "o'brien; --"),
])
def test_labeller_names(name, ok):
    if ok is None:
        with pytest.raises(InputError):
            labeller_name(name)
    else:
        assert labeller_name(name) == ok
