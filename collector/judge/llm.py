"""llm-1: a language model on an OpenAI-compatible server judges every round (vLLM ``serve``, a
llama.cpp server, Ollama, OpenAI), with the pinned prompt of :mod:`collector.judge.llm_prompt`.

How a label is read: each round is one chat request at temperature 0 for one token
(``max_tokens`` 1) with ``logprobs`` and ``top_logprobs`` 20; the label is the most probable of the
five answer digits among the first token's top log-probabilities (a digit written with a leading
space counts as that digit), and where none of them is listed, the digit the model answered. On a
llama.cpp server (its ``/v1/models`` says ``owned_by: llamacpp``) the request also carries the
grammar ``root ::= [1-5]``, so the answer is always a digit; llama.cpp reports the top
log-probabilities from before the grammar, so both readings agree. Anything else (no choices, no
digit, a digit outside 1-5, another model answering) is a :class:`~collector.core.errors.JudgeServerError`.
An empty completion is COLLAPSE without a request.

Loading the judge checks the server before anything is written: its model list (the judge model is
``--judge-model``, else the one model the server serves), one real judging request, and that the
judge model is not the probed model (unless allowed). The judge model as the server reports it, the
prompt version and the decoding settings are the session's ``judge_settings``; the model and the
prompt version are also its ``encoder``, so the settings key keeps judge models apart.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from collector.core.errors import InputError, JudgeServerError
from collector.judge.classifier import text_features
from collector.judge.judge import Verdict
from collector.judge.llm_client import Endpoint, EndpointConfig, shown
from collector.judge.llm_prompt import DIGITS, PROMPT_SHA256, PROMPT_VERSION, messages
from collector.judge.meaning import Meaning
from collector.judge.registry import JudgeEntry
from collector.core.records import EchoType, JudgeItem

if TYPE_CHECKING:
    from collector.model.lm import LanguageModel

TOP_LOGPROBS = 20
MAX_TOKENS = 1
GRAMMAR = "root ::= [1-5]"
LABEL_READ = ("the most probable of the digits 1-5 among the first answer token's top_logprobs; the answered "
              "digit where none of them is listed")
ALLOW_SELF_FLAG = "--judge-allow-self"

CHECK_TERM = "water"
CHECK_MEANING = Meaning("The clear liquid that falls as rain and fills rivers, lakes and seas; H2O.")
CHECK_ITEM = JudgeItem(anchor='The word "water" means', prev='The word "water" means',
                       text=" the clear liquid that falls as rain and fills rivers, lakes and the sea.",
                       history=['The word "water" means'])
"""The request that checks a server before anything is written: its answer must be readable."""

_QUANTISATION = re.compile(r"([._ -](i?q\d[a-z0-9_]*|f16|f32|bf16|fp16|fp8|int4|int8|awq|gptq|gguf|ggml|mlx))+$")


def model_key(name: str) -> str:
    """What two names of one model have in common: the last path part, lower case, without a
    ``.gguf`` ending, quantisation or format suffixes (``-q4_k_m``, ``.Q4_1``, ``-GGUF``), an
    Ollama tag's colon, and anything not a letter or digit.
    ``HuggingFaceTB/SmolLM2-135M-Instruct`` and ``/models/SmolLM2-135M-Instruct.Q4_1.gguf`` give one key."""
    base = name.strip().replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].lower().replace(":", "-")
    base = base.removesuffix(".gguf")
    base = _QUANTISATION.sub("", base)
    return re.sub(r"[^a-z0-9]", "", base)


def same_model(a: str, b: str) -> bool:
    key = model_key(a)
    return bool(key) and key == model_key(b)


@dataclass(frozen=True)
class Answer:
    label: EchoType
    digit: str
    probability: float | None  # of the digit among the five, where the top log-probabilities had them
    model: str | None  # the reply's model field


def read_answer(reply: dict[str, Any], where: str) -> Answer:
    """The label in a chat completion reply (see the module's docstring); JudgeServerError if none."""
    choices = reply.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise JudgeServerError(f"the judge server at {where} answered without choices: '{shown(reply, 60)}'")
    choice = choices[0]
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    content = message.get("content") if isinstance(message.get("content"), str) else choice.get("text")
    content = content if isinstance(content, str) else ""
    model = reply.get("model") if isinstance(reply.get("model"), str) else None
    scores = _digit_logprobs(choice.get("logprobs"))
    if scores:
        digit = max(scores, key=scores.__getitem__)
        total = sum(math.exp(v) for v in scores.values())
        return Answer(DIGITS[digit], digit, math.exp(scores[digit]) / total, model)
    answered = content.strip()
    if answered in DIGITS:
        return Answer(DIGITS[answered], answered, None, model)
    raise JudgeServerError(f"the judge server at {where} answered '{shown(answered, 40)}', not one of the digits "
                           "1-5 (and listed none among its top log-probabilities)")


def _digit_logprobs(logprobs: object) -> dict[str, float]:
    """Log-probability of each answer digit among the first token's top_logprobs (tokens that are
    the digit with white space around it are added to it)."""
    if not isinstance(logprobs, dict) or not isinstance(logprobs.get("content"), list) or not logprobs["content"]:
        return {}
    first = logprobs["content"][0]
    top = first.get("top_logprobs") if isinstance(first, dict) else None
    scores: dict[str, float] = {}
    for entry in top if isinstance(top, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("token"), str):
            continue
        token, value = entry["token"].strip(), entry.get("logprob")
        if token in DIGITS and isinstance(value, (int, float)) and math.isfinite(value):
            scores[token] = value if token not in scores else math.log(math.exp(scores[token]) + math.exp(value))
    return scores


class LlmJudges:
    """llm-1 loaded for a process: the server checked, the judge model chosen, the settings recorded."""

    def __init__(self, judge_version: str, lm: LanguageModel | None = None, options: dict[str, Any] | None = None,
                 ) -> None:
        options = options or {}
        self.judge_version = judge_version
        self.endpoint = Endpoint(EndpointConfig.from_options(options))
        self.allow_self = bool(options.get("allow_self"))
        self.model, listed = self._discover()
        probed = options.get("probed_model") or (lm.name if lm is not None else None)
        if probed:
            self.check_probed_model(probed)
        self.constraint = GRAMMAR if listed.get("owned_by") == "llamacpp" else None
        self.response_model: str | None = None
        _answer, reply = self._reply(CHECK_TERM, CHECK_MEANING, CHECK_ITEM)
        self.response_model = reply.get("model") if isinstance(reply.get("model"), str) else None
        self.settings = self._settings(listed, reply)
        self.encoder_name = f"{self.model} ({PROMPT_VERSION})"

    def _settings(self, listed: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
        """What a session records of this judge: the model as the server lists it and answers with,
        the prompt, the decoding, how the label is read (server text escaped, bounded)."""
        meta = listed.get("meta") if isinstance(listed.get("meta"), dict) else {}
        fingerprint = reply.get("system_fingerprint")
        return {
            "judge": self.judge_version,
            "server": self.endpoint.where,
            "model": self.model,
            "model_owned_by": shown(listed.get("owned_by", ""), 80) or None,
            "model_meta": {shown(k, 40): shown(v, 80) if isinstance(v, str) else v for k, v in list(meta.items())[:20]
                           if isinstance(v, (str, bool)) or isinstance(v, (int, float)) and math.isfinite(v)} or None,
            "response_model": shown(self.response_model, 300) if self.response_model else None,
            "system_fingerprint": shown(fingerprint, 80) if isinstance(fingerprint, str) else None,
            "prompt_version": PROMPT_VERSION,
            "prompt_sha256": PROMPT_SHA256,
            "decoding": {"endpoint": "/chat/completions", "temperature": 0, "max_tokens": MAX_TOKENS,
                         "logprobs": True, "top_logprobs": TOP_LOGPROBS, "constraint": self.constraint},
            "label_read": LABEL_READ,
            "empty_completion": "COLLAPSE, without a request",
        }

    def _discover(self) -> tuple[str, dict[str, Any]]:
        """The judge model's id and its entry in ``/models``."""
        where = self.endpoint.where
        data = self.endpoint.get("/models").get("data")
        listed = [d for d in data if isinstance(d, dict) and isinstance(d.get("id"), str)] \
            if isinstance(data, list) else []
        if not listed:
            raise JudgeServerError(f"the judge server at {where} lists no model at /models")
        for entry in listed:
            if not entry["id"].strip() or len(entry["id"]) > 300 or not entry["id"].isprintable():
                raise JudgeServerError(f"the judge server at {where} names a model '{shown(entry['id'], 60)}', "
                                       "which is no printable model id")
        names = ", ".join(shown(d["id"], 60) for d in listed[:5]) + (", ..." if len(listed) > 5 else "")
        wanted = self.endpoint.config.model
        if wanted is None:
            if len(listed) > 1:
                raise JudgeServerError(f"the judge server at {where} serves {len(listed)} models ({names}): "
                                       "choose one with --judge-model")
            return listed[0]["id"], listed[0]
        for entry in listed:
            aliases = entry.get("aliases") if isinstance(entry.get("aliases"), list) else []
            if wanted == entry["id"] or wanted in aliases:
                return entry["id"], entry
        raise JudgeServerError(f"the judge server at {where} serves {names}, not '{shown(wanted, 60)}'")

    def check_probed_model(self, name: str) -> None:
        """InputError if the judge model is the probed model ``name`` (see :func:`same_model`), unless allowed."""
        if not self.allow_self and same_model(name, self.model):
            raise InputError(f"the judge model {shown(self.model, 80)} is the probed model {shown(name, 80)}: it "
                             f"would judge its own chains; use another judge model, or pass {ALLOW_SELF_FLAG}")

    def _reply(self, term: str, meaning: Meaning | None, item: JudgeItem) -> tuple[Answer, dict[str, Any]]:
        body: dict[str, Any] = {"model": self.model, "messages": messages(term, meaning, item), "temperature": 0,
                                "max_tokens": MAX_TOKENS, "logprobs": True, "top_logprobs": TOP_LOGPROBS,
                                "stream": False}
        if self.constraint:
            body["grammar"] = self.constraint
        reply = self.endpoint.post("/chat/completions", body)
        answer = read_answer(reply, self.endpoint.where)
        if self.response_model and answer.model and answer.model != self.response_model:
            raise JudgeServerError(f"the judge server at {self.endpoint.where} answered with model "
                                   f"{shown(answer.model, 60)}, not {shown(self.response_model, 60)} as before")
        return answer, reply

    def ask(self, term: str, meaning: Meaning | None, item: JudgeItem) -> Answer:
        return self._reply(term, meaning, item)[0]

    def for_term(self, term: str, meaning: Meaning | None, glossary_id: int | None) -> LlmJudge:
        return LlmJudge(self, term, meaning, glossary_id)


class LlmJudge:
    """llm-1 for one term (a session): every round against the term's meaning, else the frame."""

    def __init__(self, judges: LlmJudges, term: str, meaning: Meaning | None, glossary_id: int | None) -> None:
        self.judges = judges
        self.term = term
        self.meaning = meaning if meaning is not None and meaning.reference.strip() else None
        self.mode = "reference" if self.meaning else "frame"
        self.glossary_id = glossary_id if self.meaning else None
        self.judge_version = judges.judge_version
        self.settings = judges.settings

    @property
    def encoder_name(self) -> str:
        return self.judges.encoder_name

    def judge(self, items: list[JudgeItem]) -> list[Verdict]:
        """One verdict per item, in order; the requests run side by side (``--judge-concurrency``)."""
        asked = [item for item in items if item.text.strip()]
        answers = iter(self.judges.endpoint.map(lambda item: self.judges.ask(self.term, self.meaning, item), asked))
        verdicts = []
        for item in items:
            features = text_features(item.text, item.history)
            if not item.text.strip():
                verdicts.append(Verdict(EchoType.COLLAPSE, features, None, None,
                                        reason=f"{self.judge_version}: empty completion, COLLAPSE without a request"))
                continue
            answer = next(answers)
            p = f", p {answer.probability:.2f} among the five digits" if answer.probability is not None else ""
            verdicts.append(Verdict(answer.label, features, None, None,
                                    reason=f"{self.judge_version}: answered {answer.digit} {answer.label.value}{p}"))
        return verdicts


ENTRY = JudgeEntry("llm-1", "an LLM on an OpenAI-compatible server (--judge-url, --judge-model) with a pinned prompt",
                   LlmJudges, has_endpoint=True)
