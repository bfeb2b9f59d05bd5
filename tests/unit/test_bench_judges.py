"""The judge checks' own logic, without a model or a database: which judges `bench/run.py chains`
measures (every registered judge that loads without options, so ref-3 appears once it is
registered), their arguments, and the model ladder's readers' verdict and ranking check."""

from __future__ import annotations

import pytest

from bench import model_ladder as ladder
from bench import run as bench_run
from collector.core.errors import InputError
from collector.judge import registry
from collector.judge.classifier import CLASSIFIER_VERSION
from collector.judge.registry import DEFAULT_JUDGE, JudgeEntry

# --- bench/run.py chains -------------------------------------------------------------------------


def test_chains_measures_every_judge_with_full_chains_then_the_stop_early_designs():
    designs = bench_run.chain_designs(["ref-2", "ref-3", "rules-1"], "ref-2", "rules-1")
    assert designs == [("ref-2", False), ("ref-3", False), ("ref-2", True), ("rules-1", True)]
    assert bench_run.chain_designs(["ref-3"], "ref-2", "rules-1") == [("ref-3", False)]


def test_chains_takes_its_judges_from_the_registry():
    designs = bench_run.chain_designs(list(registry.versions()), DEFAULT_JUDGE, CLASSIFIER_VERSION)
    full = [v for v, stop_early in designs if not stop_early]
    assert full == [v for v in registry.versions() if v != CLASSIFIER_VERSION]
    assert (CLASSIFIER_VERSION, True) in designs


class _Loaded:
    def __init__(self, version, lm, options):
        self._judges = None


def _needs_endpoint(version, lm, options):
    raise InputError(f"judge {version} needs an endpoint: give its URL")


def test_a_judge_that_needs_an_endpoint_is_left_out_unless_asked_for(monkeypatch, capsys):
    toys = (JudgeEntry("ref-x", "loads", _Loaded), JudgeEntry("llm-x", "needs an endpoint", _needs_endpoint))
    for toy in toys:
        registry.register(toy)
    monkeypatch.setattr(registry, "versions", lambda: ("ref-x", "llm-x"))  # these two alone
    try:
        assert list(bench_run.chain_kits(None, None)) == ["ref-x"]
        assert "judge llm-x left out" in capsys.readouterr().err
        with pytest.raises(SystemExit, match="llm-x needs an endpoint"):
            bench_run.chain_kits(None, ["llm-x"])
    finally:
        for toy in toys:
            registry.unregister(toy.judge_version)


def test_chains_empties_the_encoder_caches_and_times_each_judge_once():
    from types import SimpleNamespace

    encoder = SimpleNamespace(_cache={"text": 1})
    bench_run._clear_encoder_caches(SimpleNamespace(_judges=SimpleNamespace(encoder=encoder, params=None)))
    assert encoder._cache == {}

    class Inner:
        def judge(self, items):
            return list(items)

    class Outer(Inner):
        def judge(self, items):  # calls the other class's judge inside: still one timed call
            return super().judge(items)

    spent: dict[str, float] = {}
    judge = bench_run._timed_judge(Outer(), spent)
    assert judge.judge([1, 2]) == [1, 2]
    assert set(spent) == {"judge"} and spent["judge"] >= 0
    assert Outer().judge([3]) == [3]  # the class itself is not wrapped


def test_chains_arguments():
    args = bench_run.parse_args(["chains", "--runs", "64"])
    assert (args.part, args.runs, args.judges) == ("chains", 64, None)
    assert bench_run.parse_args(["chains", "--judges", "ref-2, rules-1,ref-2"]).judges == ["ref-2", "rules-1"]


@pytest.mark.parametrize("argv, fragment", [
    (["chains", "--judges", "ref-99"], "unknown judge 'ref-99'"),
    (["chains", "--judges", " , "], "no judge named"),
    (["dbt", "--judges", "ref-2"], "--judges is for the chains part"),
    (["chains", "--runs", "0"], "--runs must be at least 1"),
])
def test_chains_refuses_bad_arguments(argv, fragment, capsys):
    with pytest.raises(SystemExit) as exc:
        bench_run.parse_args(argv)
    assert exc.value.code == 2
    assert fragment in capsys.readouterr().err


# --- bench/model_ladder.py -----------------------------------------------------------------------


def test_ladder_defaults():
    args = ladder.parse_args([])
    assert (args.runs, args.seed, args.dtype, args.judges, args.collect_judge) == (16, 7, "bfloat16", ["ref-2"], "ref-2")
    assert args.terms == list(ladder.CHAMPIONS) and args.models == ["smollm2", "qwen"]
    assert ladder.parse_args(["--judges", "ref-2"]).judges == ["ref-2"]


@pytest.mark.parametrize("argv, fragment", [
    (["--seed", "404"], "hidden acceptance set"),
    (["--judges", "rules-1"], "cannot judge stored rounds again"),
    (["--judges", "ref-99"], "unknown ref-99"),
    (["--models", "gpt"], "unknown gpt"),
    (["--runs", "1"], "at least 2"),
    (["--runs", "4", "--export-runs", "8"], "--export-runs"),
])
def test_ladder_refuses_bad_arguments(argv, fragment, capsys):
    with pytest.raises(SystemExit) as exc:
        ladder.parse_args(argv)
    assert exc.value.code == 2
    assert fragment in capsys.readouterr().err


def _labels(model, term, run, pairs):
    return [{"model": model, "term": term, "run": run, "round": i, "label_a": a, "label_b": b}
            for i, (a, b) in enumerate(pairs, 1)]


def test_readers_depth_is_the_leading_rounds_both_readers_call_continue():
    rows = (_labels("qwen", "Pflicht", 1, [("EXPANDS", "CONFIRMS"), ("CONFIRMS", "DIVERGENT"), ("EXPANDS", "EXPANDS")])
            + _labels("qwen", "Pflicht", 2, [("EXPANDS", "EXPANDS"), ("CONFIRMS", "CONFIRMS"), ("EXPANDS", "CONFIRMS")])
            + _labels("smollm2", "Pflicht", 1, [("DIVERGENT", "DIVERGENT"), ("EXPANDS", "EXPANDS"), ("COLLAPSE", "CIRCULAR")]))
    verdict = ladder.readers_verdict(rows)
    qwen = verdict[("qwen", "Pflicht")]
    assert (qwen.both, qwen.a, qwen.b) == ([1, 3], [3, 3], [1, 3])
    assert (qwen.rounds, qwen.agreed, qwen.agreed_continue) == (6, 3, 5)
    smol = verdict[("smollm2", "Pflicht")]
    assert (smol.both, smol.agreed, smol.agreed_continue) == ([0], 2, 3)


def test_a_run_with_a_gap_or_an_open_end_has_no_readers_depth():
    gap = [r for r in _labels("qwen", "Wille", 1, [("EXPANDS", "EXPANDS")] * 3) if r["round"] != 2]
    open_end = _labels("qwen", "Wille", 2, [("EXPANDS", "EXPANDS")] * 2)
    stopped = _labels("qwen", "Wille", 3, [("DIVERGENT", "DIVERGENT")])
    assert ladder.readers_verdict(gap + open_end + stopped)[("qwen", "Wille")].both == [0]


@pytest.mark.parametrize("judge, readers, verdict", [
    ("above", "above", "pass"), ("above", None, "pass"), ("tie", "tie", "pass"), ("below", "below", "pass"),
    ("below", "above", "FAIL"), ("below", None, "FAIL"), ("tie", "above", "FAIL"), ("tie", None, "FAIL"),
    ("below", "tie", "FAIL"), ("above", "tie", "differs"), ("above", "below", "differs"), (None, "above", "n/a"),
])
def test_the_check_passes_only_where_the_judge_orders_the_models_as_the_readers_do(judge, readers, verdict):
    assert ladder.check(judge, readers) == verdict


def test_order():
    assert ladder.order(0.5, 0.0) == "above"
    assert ladder.order(0.0, 0.0) == "tie"
    assert ladder.order(0.0, 0.1) == "below"
    assert ladder.order(None, 0.1) is None


def test_labels_are_checked_against_the_chains_file(tmp_path):
    chains = {"qwen-Wille-r01-1": {"id": "qwen-Wille-r01-1", "model": "qwen", "term": "Wille", "run": 1, "round": 1,
                                   "text_sha256": "00", "collected": "2026-12-05"}}
    path = tmp_path / "labels.jsonl"
    path.write_text('{"id": "qwen-Wille-r01-1", "label_a": "expands", "label_b": "DIVERGENT"}\n')
    [row] = ladder.read_labels(path, chains)
    assert (row["term"], row["label_a"], row["label_b"], row["collected"]) == ("Wille", "EXPANDS", "DIVERGENT",
                                                                              "2026-12-05")
    path.write_text('{"id": "qwen-Wille-r01-1", "label_a": "GOOD", "label_b": "DIVERGENT"}\n')
    with pytest.raises(SystemExit, match="label_a must be one of"):
        ladder.read_labels(path, chains)
    path.write_text('{"id": "qwen-Wille-r01-1", "term": "Pflicht", "label_a": "EXPANDS", "label_b": "EXPANDS"}\n')
    with pytest.raises(SystemExit, match="term 'Pflicht' differs"):
        ladder.read_labels(path, chains)
    path.write_text('{"id": "nope", "label_a": "EXPANDS", "label_b": "EXPANDS"}\n')
    with pytest.raises(SystemExit, match="not in the chains file"):
        ladder.read_labels(path, chains)


# --- bench/score_ceiling.py: agreement across runs -----------------------------------------------


def test_agreement_compares_a_round_with_the_other_runs_of_its_term_and_round_only():
    import numpy as np

    from bench.score_ceiling import agreement

    def row(term, chain, rnd):
        return dict(term=term, chain=chain, round=rnd)

    e = np.eye(4)
    rows = [row("A", "A-1", 1), row("A", "A-1", 2), row("A", "A-2", 1), row("A", "A-3", 1),
            row("B", "B-1", 1)]
    # A-1 round 1 is e0; A-2 the same text, A-3 orthogonal; A-1 round 2 has no peer; B stands alone
    V = np.stack([e[0], e[1], e[0], e[2], e[0]])
    generic = np.stack([e[3], (e[0] + e[1] + e[2]) / np.sqrt(3)])  # cosines with them: spread, not constant
    out = agreement(rows, V, generic)
    G = V @ generic.T
    z = lambda i, mean_cos: (mean_cos - G[i].mean()) / G[i].std()  # noqa: E731
    assert out[0] == pytest.approx(z(0, 0.5))  # mean of A-2 (1) and A-3 (0); not itself, not B
    assert out[2] == pytest.approx(z(2, 0.5))  # A-1 (1) and A-3 (0)
    assert out[3] == pytest.approx(z(3, 0.0))
    assert out[1] == 0 and out[4] == 0  # no other run has that term and round


def test_agreement_never_compares_rounds_of_the_same_run():
    import numpy as np

    from bench.score_ceiling import agreement

    rows = [dict(term="A", chain="A-1", round=1), dict(term="A", chain="A-1", round=1)]
    generic = np.stack([np.array([0.0, 1.0]), np.array([0.6, 0.8])])
    assert agreement(rows, np.stack([np.array([1.0, 0.0])] * 2), generic).tolist() == [0.0, 0.0]
