-- The probability of each echo type given the previous round's type, per term and model, from
-- consecutive rounds within a run. Only continuing types (EXPANDS, CONFIRMS) are ever followed by
-- another round, so only they appear as from_echo_type.

with

rounds as (

    select * from {{ ref('int_probe_rounds_unnested') }}
    where next_echo_type is not null

),

counted as (

    select
        term,
        model_name,
        echo_type as from_echo_type,
        next_echo_type as to_echo_type,
        count(*)::integer as transitions
    from rounds
    group by term, model_name, echo_type, next_echo_type

),

final as (

    select
        term,
        model_name,
        from_echo_type,
        to_echo_type,
        transitions,
        transitions::double precision
        / sum(transitions) over (partition by term, model_name, from_echo_type) as probability
    from counted

)

select * from final
