-- Consecutive round pairs within a run: every round that was followed by another, with the type
-- of the round that followed. Only continuing rounds (EXPANDS, CONFIRMS) are ever followed.

with

rounds as (

    select * from {{ ref('int_probe_rounds_unnested') }}

),

transitions as (

    select
        ---------- ids
        run_id,
        session_id,
        round_number as from_round_number,

        ---------- text
        echo_type as from_echo_type,
        next_echo_type as to_echo_type,

        ---------- timestamps
        run_at,
        loaded_at

    from rounds
    where next_echo_type is not null

)

select * from transitions
