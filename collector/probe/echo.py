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
A step is :meth:`Probe.generate_round` (the completions, and the next prompts) then
:meth:`Probe.settle` (the verdicts); with ``overlap_judge`` the judge of one step runs beside the
next step's generation (:mod:`collector.probe.overlap`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from collector.core.params import frame_term
from collector.core.records import JudgeItem, RoundRecord, RunRecord, SessionRecord
from collector.probe.overlap import run_overlapped
from collector.probe.sampling import Generation, SamplingParams, generate
from collector.probe.seeds import round_seed, run_seed

if TYPE_CHECKING:
    from collector.judge.judge import Verdict
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
    rounds: list[RoundRecord] = field(default_factory=list)  # the judged rounds
    broken: bool = False  # a round did not continue: the chain (and depth) grows no more
    generated: int = 0  # rounds generated (judged or not)


@dataclass
class _Round:
    """One generation step: the chains it advanced, their completions and the items to judge."""

    chains: list[_Chain]
    generations: list[Generation]
    items: list[JudgeItem]


class Probe:
    """Runs the echo probe for one session's parameters."""

    def __init__(self, lm: LanguageModel, judge: SessionJudge, session: SessionRecord, sampler: Sampler | None = None,
                 overlap_judge: bool = False):
        self.lm = lm
        self.overlap_judge = overlap_judge
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
        batch = self.generate_round(live)
        finished = self.settle(batch, self.judge.judge(batch.items))
        return [c for c in live if not self._done(c)], finished

    def generate_round(self, live: list[_Chain]) -> _Round:
        """Generate the next round of every live chain and move each chain's prompt and history on
        (they are the completion's text whatever its verdict); the verdicts are :meth:`settle`'s."""
        seeds = [round_seed(c.seed, c.generated + 1) for c in live]
        generations = self.sampler([c.prompt for c in live], seeds, self.sampling)
        items = [
            JudgeItem(anchor=self.anchor, prev=c.prompt, text=g.text.strip(), history=list(c.history))
            for c, g in zip(live, generations)
        ]
        for state, item in zip(live, items):
            state.generated += 1
            if item.text:  # a blank completion cannot be fed back: the next round answers the same prompt
                state.history.append(item.text)
                state.prompt = item.text
        return _Round(list(live), generations, items)

    def settle(self, batch: _Round, verdicts: list[Verdict]) -> list[RunRecord]:
        """Record one generated round's verdicts (rounds, chain, depth); return the runs this finishes."""
        finished = []
        for state, gen, item, verdict in zip(batch.chains, batch.generations, batch.items, verdicts, strict=True):
            state.rounds.append(
                RoundRecord(
                    round=len(state.rounds) + 1,
                    prompt=item.prev,
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
            if self._done(state):
                finished.append(self._finish(state))
        return finished

    def _done(self, state: _Chain) -> bool:
        return len(state.rounds) >= self.session.max_rounds or (state.broken and self.session.stop_early)

    def run(self, run_numbers: Iterable[int], batch_size: int) -> Iterator[list[RunRecord]]:
        """Run the given run numbers; after every round of generation, yield the runs that finished.

        With ``overlap_judge`` a round's judge runs on a thread while the next round generates
        (:mod:`collector.probe.overlap`): the same rows, each run yielded one step later. Not with
        the session's ``stop_early`` (a verdict decides whether a run goes on) nor with a judge that
        reads the probe model itself (rules-1: the model's tokenizer and embedding memo are not for
        two threads at once): those run in turn, as without it."""
        if self.overlap_judge and not self.session.stop_early and getattr(self.judge, "lm", None) is not self.lm:
            yield from run_overlapped(self, run_numbers, batch_size)
            return
        pending = deque(run_numbers)
        live: list[_Chain] = []
        while pending or live:
            while pending and len(live) < batch_size:
                live.append(self._start(pending.popleft()))
            live, finished = self.step(live)
            if finished:
                yield finished
