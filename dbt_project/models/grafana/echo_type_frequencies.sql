-- Rounds of each echo type per minute and term, for Grafana.

with

rounds as (

    select * from {{ ref('int_probe_rounds_unnested') }}

),

final as (

    select
        date_trunc('minute', run_at) as time,
        term,
        echo_type,
        count(*)::integer as rounds
    from rounds
    group by date_trunc('minute', run_at), term, echo_type

)

select * from final
order by time, term, echo_type
