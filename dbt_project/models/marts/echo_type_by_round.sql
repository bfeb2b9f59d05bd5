-- How often each echo type occurs at each round, per term and model. share is the fraction of the
-- rounds at that round number (so the types of one round sum to 1).

with

rounds as (

    select * from {{ ref('int_probe_rounds_unnested') }}

),

counted as (

    select
        term,
        model_name,
        round_number,
        echo_type,
        count(*)::integer as rounds
    from rounds
    group by term, model_name, round_number, echo_type

),

final as (

    select
        term,
        model_name,
        round_number,
        echo_type,
        rounds,
        rounds::double precision
        / sum(rounds) over (partition by term, model_name, round_number) as share
    from counted

)

select * from final
