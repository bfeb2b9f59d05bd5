"""The pure echo-type rules: features, the five types, thresholds, determinism."""

from __future__ import annotations

import dataclasses

import pytest

from collector.judge import classifier
from collector.judge.classifier import (
    CLASSIFIER_VERSION,
    DEFAULT_THRESHOLDS,
    TextFeatures,
    Thresholds,
    classify,
    stem,
    text_features,
    words,
)
from collector.core.records import EchoType

TERM = "heartbeat"
PREV = "A heartbeat is one contraction of the heart muscle that pumps blood through the body."
HISTORY = [TERM, PREV]
RELATED = (0.30, 0.50)  # sim_term, sim_prev of an on-topic text
UNRELATED = (0.02, 0.05)


def judge(text: str, sims: tuple[float | None, float | None] = RELATED, **kwargs) -> EchoType:
    return classify(text_features(text, HISTORY), *sims, **kwargs)


# ------------------------------------------------------------------ the five types


def test_expands() -> None:
    text = (
        "Each beat starts with an electrical impulse from the sinoatrial node, which spreads "
        "through the atria and ventricles and makes them contract in sequence."
    )
    assert judge(text) is EchoType.EXPANDS


def test_confirms_synonym_list() -> None:
    assert judge("Pulse, heart rate, a beat of the heart.") is EchoType.CONFIRMS


def test_confirms_short_restatement_without_new_words() -> None:
    # nothing new, but short and not repetitive: a restatement, not a loop
    assert judge("It is the contraction of the heart.") is EchoType.CONFIRMS


def test_confirms_even_with_low_similarity_when_made_of_the_chain_s_words() -> None:
    # short synonym lists embed poorly; most of their stems come from the chain
    assert judge("Heart, contraction, pumping blood.", sims=(0.10, 0.08)) is EchoType.CONFIRMS


def test_circular_repeats_itself() -> None:
    text = "Heartbeat, heart beat, beat of the heart, the heart beats a heartbeat, heartbeat heartbeat."
    assert judge(text) is EchoType.CIRCULAR


def test_circular_recycles_the_previous_text() -> None:
    text = "The heart muscle contraction pumps the blood through the body, one heartbeat."
    tf = text_features(text, HISTORY)
    assert tf.distinct_ratio >= DEFAULT_THRESHOLDS.circular_distinct_ratio
    assert tf.novelty < DEFAULT_THRESHOLDS.circular_novelty
    assert classify(tf, *RELATED) is EchoType.CIRCULAR


def test_divergent() -> None:
    text = "Valentine's Day cards are often decorated with red roses and little cupids with arrows."
    assert judge(text, UNRELATED) is EchoType.DIVERGENT
    assert judge(text, RELATED) is EchoType.EXPANDS  # the similarity decides


def test_divergent_uses_the_mean_of_both_similarities() -> None:
    text = "Valentine's Day cards are often decorated with red roses and little cupids with arrows."
    limit = DEFAULT_THRESHOLDS.divergent_similarity
    assert judge(text, (limit - 0.05, limit + 0.03)) is EchoType.DIVERGENT
    assert judge(text, (limit - 0.05, limit + 0.07)) is EchoType.EXPANDS


def test_first_round_has_its_own_similarity_threshold() -> None:
    text = "A rhythmic pulse of the heart that pushes blood through arteries and veins around the body."
    sim = (DEFAULT_THRESHOLDS.divergent_similarity_first_round + DEFAULT_THRESHOLDS.divergent_similarity) / 2
    assert judge(text, (sim, sim), first_round=True) is EchoType.EXPANDS
    assert judge(text, (sim, sim)) is EchoType.DIVERGENT
    low = DEFAULT_THRESHOLDS.divergent_similarity_first_round - 0.02
    assert judge(text, (low, low), first_round=True) is EchoType.DIVERGENT


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "qzv 77 ;;; ## ..,, 0x3f ]]",
        "!!!! ???? 1 2 3 4 5 6 7 8 9 :: ::",
        "the the the the the the the the the the the the",
        "Heartbeat",
        "and the of the and",
    ],
)
def test_collapse(text: str) -> None:
    assert judge(text) is EchoType.COLLAPSE


def test_collapse_without_similarity() -> None:
    text = "Each beat starts with an electrical impulse from the sinoatrial node."
    assert judge(text, (None, 0.5)) is EchoType.COLLAPSE
    assert judge(text, (0.5, None)) is EchoType.COLLAPSE


# ------------------------------------------------------------------ features


def test_features_of_empty_text() -> None:
    assert text_features("", HISTORY) == TextFeatures(0, 0.0, 0.0, 0, 0, 0.0)
    assert text_features("  \n ", HISTORY) == TextFeatures(0, 0.0, 0.0, 0, 0, 0.0)


def test_features_of_punctuation_only() -> None:
    tf = text_features("!!! ... ;;; ---", HISTORY)
    assert tf.n_words == 0
    assert tf.nonletter_ratio == 1.0
    assert tf.content_words == 0 and tf.novelty == 0.0


def test_features_count_words_and_stopwords() -> None:
    tf = text_features("The heart pumps blood, and the blood carries oxygen.", [])
    assert tf.n_words == 9
    assert tf.distinct_ratio == pytest.approx(7 / 9)
    assert tf.content_words == 6  # heart pumps blood blood carries oxygen
    assert tf.new_stems == 5 and tf.novelty == 1.0
    assert tf.nonletter_ratio == pytest.approx(2 / 44)


def test_novelty_is_relative_to_the_history() -> None:
    tf = text_features("The heart muscle pumps oxygen.", HISTORY)
    # heart, muscl(e), pump(s) are in the previous text; oxyge(n) is new
    assert tf.content_words == 4
    assert tf.new_stems == 1
    assert tf.novelty == pytest.approx(1 / 4)


def test_german_umlauts_and_eszett_are_letters() -> None:
    tf = text_features("Größe, Übermaß und Mäßigung prägen die Öffentlichkeit.", ["Maß"])
    assert words("Größe Übermaß") == ["grösse", "übermass"]  # casefolded
    assert tf.n_words == 7
    assert tf.nonletter_ratio == pytest.approx(2 / 48)
    assert tf.content_words == 5  # und, die are German stopwords
    assert tf.new_stems == 5


def test_repeated_words() -> None:
    tf = text_features("duty duty duty duty", ["Pflicht"])
    assert tf.n_words == 4 and tf.distinct_ratio == 0.25
    assert tf.content_words == 4 and tf.new_stems == 1 and tf.novelty == 1.0


def test_stems() -> None:
    assert stem("beats") == stem("beat") == "beat"
    assert stem("hearts") == stem("heart")
    assert stem("kant's") == "kant"
    assert stem("process") == "proce"  # a double s is not a plural
    assert stem("sublation") == stem("sublated") == "subla"


# ------------------------------------------------------------------ thresholds, version, determinism


def test_thresholds_are_named_and_frozen() -> None:
    names = {f.name for f in dataclasses.fields(Thresholds)}
    assert {
        "min_words",
        "max_nonletter_ratio",
        "collapse_distinct_ratio",
        "circular_distinct_ratio",
        "circular_novelty",
        "divergent_similarity",
        "confirms_max_new_stems",
    } <= names
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_THRESHOLDS.divergent_similarity = 0.5  # type: ignore[misc]


def test_thresholds_change_the_outcome() -> None:
    text = "Pulse, heart rate, a beat of the heart."
    strict = dataclasses.replace(DEFAULT_THRESHOLDS, confirms_max_new_stems=0)
    assert judge(text) is EchoType.CONFIRMS
    assert judge(text, thresholds=strict) is EchoType.EXPANDS


def test_version_string() -> None:
    assert isinstance(CLASSIFIER_VERSION, str) and CLASSIFIER_VERSION.startswith("rules-")


def test_module_does_not_import_torch() -> None:
    source = open(classifier.__file__, encoding="utf-8").read()
    assert "import torch" not in source


def test_deterministic() -> None:
    text = "Each beat starts with an electrical impulse from the sinoatrial node."
    first = [text_features(text, HISTORY), judge(text)]
    for _ in range(3):
        assert [text_features(text, HISTORY), judge(text)] == first


def test_contractions_of_stopwords_are_stopwords() -> None:
    tf = text_features("It's the heart, and it doesn't stop; Kant's heart.", [])
    assert tf.n_words == 9
    assert tf.content_words == 4  # heart, stop, kant's, heart
