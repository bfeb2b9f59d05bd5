-- Rounds per model, term, judge version, round number and the judge's type: the strata the
-- labelling sample is drawn over, and the population the judge's weighted agreement stands for.
-- The session's own judge is counted from the incremental per-session counts (cheap at millions of
-- rounds); later judge versions from their stored verdicts.

with

sessions as (

    select * from {{ ref('stg_probe_sessions') }}

),

original as (

    select * from {{ ref('int_session_echo_type_counts') }}

),

rejudged as (

    select * from {{ ref('stg_round_judgements') }}

),

strata as (

    select
        sessions.model_name,
        sessions.term,
        sessions.judge_version,
        original.round_number,
        original.echo_type,
        sum(original.rounds)::integer as rounds
    from original
    inner join sessions on original.session_id = sessions.session_id
    group by sessions.model_name, sessions.term, sessions.judge_version, original.round_number, original.echo_type

    union all

    select
        sessions.model_name,
        sessions.term,
        rejudged.judge_version,
        rejudged.round_number,
        rejudged.echo_type,
        count(*)::integer as rounds
    from rejudged
    inner join sessions on rejudged.session_id = sessions.session_id
    group by sessions.model_name, sessions.term, rejudged.judge_version, rejudged.round_number, rejudged.echo_type

)

select * from strata
