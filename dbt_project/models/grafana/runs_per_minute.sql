-- Runs stored per minute and term, for Grafana time series.

with

runs as (

    select * from {{ ref('int_probe_runs_flattened') }}

),

final as (

    select
        date_trunc('minute', run_at) as time,
        term,
        count(*)::integer as runs
    from runs
    group by date_trunc('minute', run_at), term

)

select * from final
order by time, term
