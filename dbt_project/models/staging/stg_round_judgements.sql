with

source as (

    select * from {{ source('raw', 'round_judgements') }}

),

renamed as (

    select
        ---------- ids
        session_id,
        run_number,
        round::integer as round_number,

        ---------- text
        judge_version,
        echo_type,

        ---------- numerics
        sim_term,
        sim_prev,
        sim_ref

    from source

)

select * from renamed
