with

source as (

    select * from {{ source('raw', 'probe_rounds') }}

),

renamed as (

    select
        ---------- ids
        session_id,
        run_number,
        round::integer as round_number,

        ---------- text
        prompt,
        completion,
        echo_type,
        finish_reason,

        ---------- numerics
        tokens_generated,
        n_words,
        distinct_ratio,
        nonletter_ratio,
        content_words,
        new_stems,
        novelty,
        sim_term,
        sim_prev,

        ---------- booleans
        echo_type in ('EXPANDS', 'CONFIRMS') as is_continuing

    from source

)

select * from renamed
