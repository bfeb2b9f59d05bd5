with

source as (

    select * from {{ source('raw', 'session_judgements') }}

),

renamed as (

    select
        ---------- ids
        session_id,
        glossary_id,

        ---------- text
        judge_version,
        judge_mode,
        encoder,
        judge_settings,
        collector_version,

        ---------- numerics
        rounds_judged,

        ---------- timestamps
        judged_at

    from source

)

select * from renamed
