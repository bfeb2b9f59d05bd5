{{ config(materialized='table') }}

-- One row per session and later judge version (nyx-collect rejudge): the same additive counts as
-- int_session_depth_counts, from the re-judged rounds. A run's depth under that judge is the
-- number of its leading rounds that expand or confirm. Rebuilt in full: it reads only the rounds
-- of re-judged sessions.

with

judgements as (

    select * from {{ ref('stg_round_judgements') }}

),

per_run as (

    select
        session_id,
        judge_version,
        run_number,
        count(*)::integer as rounds,
        coalesce(
            min(round_number) filter (where echo_type not in ('EXPANDS', 'CONFIRMS')) - 1,
            count(*)
        )::integer as depth,
        (count(*) filter (where echo_type = 'EXPANDS'))::integer as n_expands,
        (count(*) filter (where echo_type = 'CONFIRMS'))::integer as n_confirms,
        (count(*) filter (where echo_type = 'CIRCULAR'))::integer as n_circular,
        (count(*) filter (where echo_type = 'DIVERGENT'))::integer as n_divergent,
        (count(*) filter (where echo_type = 'COLLAPSE'))::integer as n_collapse
    from judgements
    group by session_id, judge_version, run_number

),

per_session as (

    select
        session_id,
        judge_version,
        count(*)::integer as runs,
        {{ depth_counts() }},
        sum(rounds)::integer as rounds_sum,
        sum(n_expands)::integer as n_expands,
        sum(n_confirms)::integer as n_confirms,
        sum(n_circular)::integer as n_circular,
        sum(n_divergent)::integer as n_divergent,
        sum(n_collapse)::integer as n_collapse
    from per_run
    group by session_id, judge_version

)

select * from per_session
