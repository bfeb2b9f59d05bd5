"""Rule-based echo-type classifier: pure, deterministic, no model and no torch.

A round's completion is described by a few surface features of its text (:func:`text_features`)
and by two similarities computed elsewhere from the probe model's hidden states: ``sim_term``
(the completion against the framed term, the round-1 prompt) and ``sim_prev`` (the completion
against the previous text). :func:`classify` applies the rules below, first match wins:

1. COLLAPSE: empty, fewer than ``min_words`` words, more than ``max_nonletter_ratio`` of the
   non-space characters are not letters, no content words, or distinct-word ratio below
   ``collapse_distinct_ratio`` (one word repeated), or no similarity could be computed.
2. CIRCULAR: distinct-word ratio below ``circular_distinct_ratio``, or novelty (share of the
   text's content stems not seen earlier in the chain) below ``circular_novelty`` in a text of
   at least ``circular_min_content_words`` content words (a short restatement is CONFIRMS).
3. DIVERGENT: the mean of ``sim_term`` and ``sim_prev`` below ``divergent_similarity``, unless
   at least half of the text's content stems come from the chain (``divergent_min_novelty``:
   short synonym lists embed poorly but repeat the chain's words). In the first round the
   previous text is the frame itself, so both similarities are the same comparison with a
   short prompt, which runs lower: there ``sim_term`` is held to ``divergent_similarity_first_round``.
4. CONFIRMS: at most ``confirms_max_new_stems`` new content stems.
5. EXPANDS otherwise.

Thresholds are named in :class:`Thresholds`. Any change to the rules or to the default
thresholds must bump :data:`CLASSIFIER_VERSION`, which every stored round carries.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from collector.core.records import EchoType

CLASSIFIER_VERSION = "rules-1"

STEM_LENGTH = 5
"""Crude stemming: a word's stem is its first ``STEM_LENGTH`` letters (after dropping a plural s)."""

_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")

STOPWORDS: frozenset[str] = frozenset(
    """
    a about above after again against all almost also although always am among an and another any
    anything are around as at be because been before being below between both but by can cannot
    could did do does doing done down during each either else even ever every few for from further
    had has have having he her here hers herself him himself his how however i if in into is it its
    itself just least less like many may me means meaning mean might more most much must my myself
    neither never no nor not nothing now of off often on once one only or other others our ours
    ourselves out over own per quite rather same shall she should since so some something such than
    that the their theirs them themselves then there therefore these they thing things this those
    though through thus to too under until up upon us very was we well were what when where whether
    which while who whom whose why will with within without would yes yet you your yours yourself
    s t d ll m re ve don doesn didn isn aren wasn weren won wouldn shouldn couldn hasn haven hadn
    aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes
    auch auf aus bei bin bis bist da damit dann das dass dein deine dem den denn der des dich die
    dies diese diesem diesen dieser dieses doch dort du durch ein eine einem einen einer eines er
    es etwas euch euer für gegen gewesen hab habe haben hat hatte hier hin hinter ich ihm ihn ihnen
    ihr ihre im in indem ins ist jede jedem jeden jeder jedes jene kann kein keine können man
    manche mein meine mich mir mit muss nach nicht nichts noch nun nur ob oder ohne sehr sein seine
    sich sie sind so solche soll sondern sonst über um und uns unser unter viel vom von vor wann
    war waren warum was weil welche wenn wer werden wie wieder will wir wird wo wurde zu zum zur
    """.split()
)
"""A compact English and German stopword list (casefolded)."""


@dataclass(frozen=True)
class Thresholds:
    """The named thresholds of the rules (see the module docstring for the order)."""

    min_words: int = 2
    max_nonletter_ratio: float = 0.30
    collapse_distinct_ratio: float = 0.20
    circular_distinct_ratio: float = 0.60
    circular_novelty: float = 0.20
    circular_min_content_words: int = 5
    divergent_similarity: float = 0.18
    divergent_min_novelty: float = 0.50
    divergent_similarity_first_round: float = 0.10
    confirms_max_new_stems: int = 4


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class TextFeatures:
    """Surface features of one completion, relative to the chain before it."""

    n_words: int
    distinct_ratio: float
    nonletter_ratio: float
    content_words: int
    new_stems: int
    novelty: float


def words(text: str) -> list[str]:
    """The casefolded words of ``text``: runs of letters, with inner apostrophes kept."""
    return [w.casefold() for w in _WORD_RE.findall(unicodedata.normalize("NFC", text))]


def stem(word: str) -> str:
    """The crude stem of a casefolded word: possessive and plural ``s`` dropped, then cut to ``STEM_LENGTH``."""
    word = word.replace("’", "'").split("'")[0]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return word[:STEM_LENGTH]


def is_stopword(word: str) -> bool:
    """Whether a casefolded word is a stopword; a contraction counts by its first part (it's, don't)."""
    return word in STOPWORDS or word.replace("’", "'").split("'")[0] in STOPWORDS


def content_stems(texts: Iterable[str]) -> set[str]:
    """The distinct stems of the non-stopword words of ``texts``."""
    return {stem(w) for t in texts for w in words(t) if not is_stopword(w)}


def text_features(text: str, history: list[str]) -> TextFeatures:
    """Surface features of ``text``; ``history`` is the chain before it (the term first)."""
    ws = words(text)
    non_space = [c for c in text if not c.isspace()]
    nonletter = sum(1 for c in non_space if not c.isalpha())
    content = [w for w in ws if not is_stopword(w)]
    stems = {stem(w) for w in content}
    new = stems - content_stems(history)
    return TextFeatures(
        n_words=len(ws),
        distinct_ratio=len(set(ws)) / len(ws) if ws else 0.0,
        nonletter_ratio=nonletter / len(non_space) if non_space else 0.0,
        content_words=len(content),
        new_stems=len(new),
        novelty=len(new) / len(stems) if stems else 0.0,
    )


def classify(
    tf: TextFeatures,
    sim_term: float | None,
    sim_prev: float | None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    *,
    first_round: bool = False,
) -> EchoType:
    """The echo type of one completion (rules in the module docstring).

    ``first_round``: the completion answers the frame itself (its previous text is the anchor).
    """
    th = thresholds
    if (
        tf.n_words < th.min_words
        or tf.nonletter_ratio > th.max_nonletter_ratio
        or tf.content_words == 0
        or tf.distinct_ratio < th.collapse_distinct_ratio
        or sim_term is None
        or sim_prev is None
    ):
        return EchoType.COLLAPSE
    if tf.distinct_ratio < th.circular_distinct_ratio or (
        tf.novelty < th.circular_novelty and tf.content_words >= th.circular_min_content_words
    ):
        return EchoType.CIRCULAR
    if first_round:
        off_topic = sim_term < th.divergent_similarity_first_round
    else:
        off_topic = (sim_term + sim_prev) / 2 < th.divergent_similarity
    if off_topic and tf.novelty >= th.divergent_min_novelty:
        return EchoType.DIVERGENT
    if tf.new_stems <= th.confirms_max_new_stems:
        return EchoType.CONFIRMS
    return EchoType.EXPANDS
