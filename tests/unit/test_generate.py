"""The decode loop on a real (tiny, random-weight) model: a row's text depends on its prompt and seed only."""

from collector.probe.sampling import SamplingParams, generate

PARAMS = SamplingParams(temperature=1.0, top_p=0.95, top_k=50, max_new_tokens=12)


def test_shared_prompts_match_rows_generated_alone(tiny_lm):
    # the probe's typical batch: many new runs on one framed term beside fed-back completions
    prompts = ['The word "x" means'] * 4 + ["a longer fed back completion, several tokens", "short"]
    seeds = [11, 12, 13, 14, 15, 16]
    together = generate(tiny_lm, prompts, seeds, PARAMS)
    alone = [generate(tiny_lm, [p], [s], PARAMS)[0] for p, s in zip(prompts, seeds, strict=True)]
    assert [g.text for g in together] == [g.text for g in alone]
    assert [g.tokens for g in together] == [g.tokens for g in alone]
    # same prompt, different seeds: the copied prompt pass must not tie the rows together
    assert len({g.text for g in together[:4]}) > 1


def test_counts_and_finish_reasons(tiny_lm):
    out = generate(tiny_lm, ["abc", "abc"], [1, 1], PARAMS)
    assert out[0] == out[1]
    for g in out:
        assert 0 <= g.tokens <= PARAMS.max_new_tokens
        assert g.finish_reason in ("eos", "length")
        assert g.finish_reason == "eos" or g.tokens == PARAMS.max_new_tokens
    assert generate(tiny_lm, [], [], PARAMS) == []
