"""The pinned prompt of the LLM judge (llm-1): what the model is told, and the one digit it answers.

The prompt is versioned (:data:`PROMPT_VERSION`, recorded with every session and re-judgement beside
:data:`PROMPT_SHA256`, the hash of its fixed text): any change to the wording below is a new prompt
version, so that a depth is always read beside the instrument that measured it.

It shows what the label desk shows a reader (``nyx-collect label``): the term, its reference meaning
(English, German where there is one) and its accepted short glosses, the text the completion answers
(for round 1 the frame) and the completion, and the five types with the label desk's meanings
(:data:`TYPE_MEANINGS`, a pinned copy of ``collector.write.labels.MEANINGS``; a unit test keeps them equal),
numbered as the desk's keys. It adds the conventions the lab's readers used
(``../shared/research/echo-probe-notes.md``). The answer is one digit, 1 to 5.

The fixed instructions come first and the item last, so a server's prompt cache reuses the prefix.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from collector.core.records import EchoType, JudgeItem

if TYPE_CHECKING:
    from collector.judge.meaning import Meaning

PROMPT_VERSION = "llm-1/p1"

DIGITS: dict[str, EchoType] = {
    "1": EchoType.EXPANDS,
    "2": EchoType.CONFIRMS,
    "3": EchoType.CIRCULAR,
    "4": EchoType.DIVERGENT,
    "5": EchoType.COLLAPSE,
}
"""The answer digit of each type: the label desk's keys."""

TYPE_MEANINGS: dict[str, str] = {
    "EXPANDS": "real structure: adds new content related to the term's meaning",
    "CONFIRMS": "a solid but shallow association: restates the meaning",
    "CIRCULAR": "recycles the same words",
    "DIVERGENT": "an association, but away from the term's meaning (a wrong meaning, a namesake)",
    "COLLAPSE": "gibberish, empty, boilerplate or unrelated",
}
"""The meanings the label desk shows readers, pinned with this prompt version."""

MAX_TEXT_CHARS = 3000
"""Each text shown (reference, previous text, completion) is cut to this many characters."""

SYSTEM = "\n".join([
    "You label one round of an echo probe of a language model.",
    'In round 1 the model continued the prompt: The word "TERM" means',
    "In each later round it continued its own previous text.",
    "You read the completion and decide which of five types it is, judged against the term's real "
    "meaning, which you are given.",
    "",
    "The five types:",
    *(f"{digit} {label.value}: {TYPE_MEANINGS[label.value]}" for digit, label in DIGITS.items()),
    "",
    "1 and 2 mean the completion is still on the term's meaning; 3, 4 and 5 mean it is not.",
    "",
    "How careful readers decide:",
    "- Judge by the reference meaning and its accepted short forms, not by what the text claims.",
    "- In round 1, a bare correct translation or gloss of the term is CONFIRMS; a correct definition "
    "with real detail is EXPANDS.",
    "- In a later round, a text that restates the meaning without new correct content is CONFIRMS; one "
    "that adds some is EXPANDS.",
    "- Copied wording that makes up most of the text (from the previous text, or repeated within the "
    "text) is CIRCULAR.",
    "- A confident wrong meaning, a namesake or another sense of the word is DIVERGENT.",
    "- A text that drifts is judged at the point where the term's meaning is lost: if it leaves the "
    "meaning early, it is DIVERGENT.",
    "- Empty text, gibberish, lists of symbols or boilerplate is COLLAPSE.",
    "- Texts may be cut off mid-sentence; judge what is there.",
    "",
    "Answer with one digit, 1 to 5, and nothing else.",
])

QUESTION = ("Which type is the completion? Answer with one digit: "
            + ", ".join(f"{digit} {label.value}" for digit, label in DIGITS.items()) + ".")

USER_TEMPLATE = "\n".join([
    "Term: {term}",
    "Reference meaning: {reference}",
    "{extra}Round: {round}",
    "{prev_label}:",
    "<<<",
    "{prev}",
    ">>>",
    "Completion:",
    "<<<",
    "{text}",
    ">>>",
    "",
    QUESTION,
])

PROMPT_SHA256 = hashlib.sha256((SYSTEM + "\x00" + USER_TEMPLATE).encode()).hexdigest()
"""The fingerprint of the fixed wording: recorded with PROMPT_VERSION."""


def _cut(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_TEXT_CHARS else text[: MAX_TEXT_CHARS - 3] + "..."


def messages(term: str, meaning: Meaning | None, item: JudgeItem) -> list[dict[str, str]]:
    """The chat messages that ask for the type of ``item`` (a first-round item has ``prev == anchor``)."""
    first = item.prev == item.anchor
    extra = []
    if meaning is not None and meaning.reference_de:
        extra.append(f"Reference meaning (German): {_cut(meaning.reference_de)}")
    if meaning is not None and meaning.all_glosses:
        extra.append("Accepted short forms: " + "; ".join(g.strip() for g in meaning.all_glosses if g.strip()))
    user = USER_TEMPLATE.format(
        term=term,
        reference=_cut(meaning.reference) if meaning is not None else "(none given: judge by what the term "
                                                                       "really means)",
        extra="".join(line + "\n" for line in extra),
        round="1 (the completion continues the prompt)" if first else "later (the completion continues the "
                                                                      "previous text)",
        prev_label="Prompt" if first else "Previous text",
        prev=_cut(item.prev),
        text=_cut(item.text),
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
