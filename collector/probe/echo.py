"""The echo probe over many independent runs, batched.

Round 1 feeds the framed term (``prompt_template`` with ``{term}`` replaced); each later round
feeds the previous completion back, stripped of surrounding whitespace (after a blank one, the same
prompt again, from the round's own seed). Each completion is judged (see ``collector.judge.judge``). The
chain (the term and the accepted completions) grows while rounds EXPAND or CONFIRM; its depth is
the number of those leading rounds. By default every run still generates all ``max_rounds`` rounds
(a full chain: a later, better judge can then re-judge every round of data already collected);
with the session's ``stop_early`` a run stops at its first round of another type.

Runs are independent, so they are processed as a pool: up to ``batch_size`` chains are live at
once, each at whatever round it has reached; one generation step advances all of them by one
round, finished chains leave the pool and new runs take their places. Each round samples from its
own seed (derived from the run's seed), so a run's text does not depend on its batch neighbours.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from collector.core.params import frame_term
from collector.core.records import JudgeItem, RoundRecord, RunRecord, SessionRecord
from collector.probe.sampling import Generation, SamplingParams, generate
from collector.probe.seeds import round_seed, run_seed

if TYPE_CHECKING:
    from collector.judge.registry import SessionJudge
    from collector.model.lm import LanguageModel


Sampler = Callable[[list[str], list[int], SamplingParams], list[Generation]]
"""Continues each prompt once, row ``i`` from seed ``i`` (the vLLM backend is one; the default is
:func:`collector.probe.sampling.generate` on the probe's own model)."""


@dataclass
class _Chain:
    run_number: int
    seed: int
    chain: list[str]  # the term, then every accepted completion
    prompt: str  # what the next round feeds
    history: list[str]  # texts the next completion is compared with for novelty
    rounds: list[RoundRecord] = field(default_factory=list)
    broken: bool = False  # a round did not continue: the chain (and depth) grows no more


class Probe:
    """Runs the echo probe for one session's parameters."""

    def __init__(self, lm: LanguageModel, judge: SessionJudge, session: SessionRecord, sampler: Sampler | None = None):
        self.lm = lm
        self.sampler = sampler or self._generate
        self.judge = judge
        self.session = session
        self.anchor = frame_term(session.prompt_template, session.term)
        self.sampling = SamplingParams(
            temperature=session.temperature,
            top_p=session.top_p,
            top_k=session.top_k,
            max_new_tokens=session.max_new_tokens,
        )

    def _generate(self, prompts: list[str], seeds: list[int], params: SamplingParams) -> list[Generation]:
        return generate(self.lm, prompts, seeds, params)

    def _start(self, run_number: int) -> _Chain:
        return _Chain(
            run_number=run_number,
            seed=run_seed(self.session.seed, run_number),
            chain=[self.session.term],
            prompt=self.anchor,
            history=[self.anchor],
        )

    def _finish(self, state: _Chain) -> RunRecord:
        s = self.session
        return RunRecord(
            session_id=s.session_id,
            term=s.term,
            run_number=state.run_number,
            seed=state.seed,
            depth=len(state.chain) - 1,
            rounds=state.rounds,
            chain=state.chain,
            model_name=s.model_name,
            temperature=s.temperature,
            max_rounds=s.max_rounds,
            max_new_tokens=s.max_new_tokens,
        )

    def step(self, live: list[_Chain]) -> tuple[list[_Chain], list[RunRecord]]:
        """Advance every live chain by one round; return (still live, finished runs)."""
        seeds = [round_seed(c.seed, len(c.rounds) + 1) for c in live]
        generations = self.sampler([c.prompt for c in live], seeds, self.sampling)
        items = [
            JudgeItem(anchor=self.anchor, prev=c.prompt, text=g.text.strip(), history=list(c.history))
            for c, g in zip(live, generations)
        ]
        verdicts = self.judge.judge(items)
        still, finished = [], []
        for state, gen, item, verdict in zip(live, generations, items, verdicts):
            state.rounds.append(
                RoundRecord(
                    round=len(state.rounds) + 1,
                    prompt=state.prompt,
                    completion=gen.text,
                    echo_type=verdict.echo_type,
                    tokens_generated=gen.tokens,
                    finish_reason=gen.finish_reason,
                    **verdict.features,
                )
            )
            if verdict.echo_type.continues and not state.broken:
                state.chain.append(item.text)
            else:
                state.broken = True
            if item.text:  # a blank completion cannot be fed back: the next round answers the same prompt
                state.history.append(item.text)
                state.prompt = item.text
            done = len(state.rounds) >= self.session.max_rounds or (state.broken and self.session.stop_early)
            if done:
                finished.append(self._finish(state))
            else:
                still.append(state)
        return still, finished

    def run(self, run_numbers: Iterable[int], batch_size: int) -> Iterator[list[RunRecord]]:
        """Run the given run numbers; after every round of generation, yield the runs that finished."""
        pending = deque(run_numbers)
        live: list[_Chain] = []
        while pending or live:
            while pending and len(live) < batch_size:
                live.append(self._start(pending.popleft()))
            live, finished = self.step(live)
            if finished:
                yield finished
