-- Every verdict on every stored round, one row per round and judge version: the judge the session
-- was collected with (raw.probe_rounds) and every later one (nyx-collect rejudge), each with the
-- session's term and model. The population the judge's agreement with human labels speaks for.

with

sessions as (

    select * from {{ ref('stg_probe_sessions') }}

),

rounds as (

    select * from {{ ref('stg_probe_rounds') }}

),

rejudged as (

    select * from {{ ref('stg_round_judgements') }}

),

verdicts as (

    select
        rounds.session_id,
        rounds.run_number,
        rounds.round_number,
        sessions.judge_version,
        rounds.echo_type,
        true as is_original
    from rounds
    inner join sessions on rounds.session_id = sessions.session_id

    union all

    select
        session_id,
        run_number,
        round_number,
        judge_version,
        echo_type,
        false as is_original
    from rejudged

),

final as (

    select
        sessions.model_name,
        sessions.term,
        verdicts.judge_version,
        verdicts.session_id,
        verdicts.run_number,
        verdicts.round_number,
        verdicts.echo_type,
        verdicts.is_original
    from verdicts
    inner join sessions on verdicts.session_id = sessions.session_id

)

select * from final
