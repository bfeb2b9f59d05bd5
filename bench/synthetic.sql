-- Synthetic raw runs with realistic distributions, for the dbt benchmark.
-- Parameters (psql -v): sessions, runs_per_session, offset (first session number).
-- Depths follow the measured Aufhebung distribution (0: 10%, 1: 20%, 2: 17%, 3: 53%); the stopping
-- type and the continuing types are drawn per run. Every row satisfies the raw CHECK constraints,
-- and every run has its rounds (one transaction: migration 0009 checks that at commit).
begin;

insert into raw.probe_sessions (
    session_id, term, model_name, model_revision, device, dtype, prompt_template, temperature, top_p,
    top_k, max_rounds, max_new_tokens, seed, batch_size, runs_requested, status, started_at, finished_at,
    collector_version, judge_version, hostname, pid
)
select
    md5('bench-session-' || s)::uuid,
    (array['Geworfenheit', 'Vernunft', 'Erkenntnis', 'Pflicht', 'Aufhebung', 'Wille'])[1 + s % 6],
    'bench/model-' || (s % 2),
    'bench', 'cpu', 'float32', 'The word "{term}" means', 0.8, 0.95, 50, 3, 48, s, 64,
    :runs_per_session, 'completed',
    now() - interval '1 day' + s * interval '10 seconds',
    now() - interval '1 day' + s * interval '10 seconds' + interval '5 seconds',
    'bench', 'rules-1', 'bench', 1
from generate_series(:offset, :offset + :sessions - 1) as s;

insert into raw.variance_probe_runs (
    session_id, term, run_number, "timestamp", depth, rounds, echo_types, chain, model_name,
    temperature, max_rounds, max_new_tokens, seed
)
select
    md5('bench-session-' || s)::uuid,
    (array['Geworfenheit', 'Vernunft', 'Erkenntnis', 'Pflicht', 'Aufhebung', 'Wille'])[1 + s % 6],
    r,
    now() - interval '1 day' + s * interval '10 seconds' + r * interval '1 millisecond',
    d.depth,
    least(d.depth + 1, 3),
    (array['EXPANDS', 'EXPANDS', 'CONFIRMS'])[1:d.depth]
    || case when d.depth < 3 then array[(array['CIRCULAR', 'DIVERGENT', 'COLLAPSE'])[1 + (s + r) % 3]]
            else array[]::text[] end,
    array[(array['Geworfenheit', 'Vernunft', 'Erkenntnis', 'Pflicht', 'Aufhebung', 'Wille'])[1 + s % 6]]
    || array_fill('a synthetic completion of some forty characters'::text, array[d.depth]),
    'bench/model-' || (s % 2),
    0.8, 3, 48, r
from generate_series(:offset, :offset + :sessions - 1) as s
cross join generate_series(1, :runs_per_session) as r
cross join lateral (
    select case
        when x < 0.10 then 0 when x < 0.30 then 1 when x < 0.47 then 2 else 3
    end as depth
    from (select ((hashint8(s * 100003 + r) & 2147483647) % 10000) / 10000.0 as x) as u
) as d;

insert into raw.probe_rounds (
    session_id, run_number, round, prompt, completion, echo_type, tokens_generated, finish_reason,
    n_words, distinct_ratio, nonletter_ratio, content_words, new_stems, novelty
)
select
    r.session_id, r.run_number, t.round::smallint, 'a synthetic prompt',
    'a synthetic completion of some forty characters', t.echo_type, 8, 'length', 7, 0.9, 0.05, 5, 3, 0.5
from raw.variance_probe_runs as r
cross join lateral unnest(r.echo_types) with ordinality as t (echo_type, round)
where r.session_id in (
    select md5('bench-session-' || s)::uuid from generate_series(:offset, :offset + :sessions - 1) as s
);

commit;
