-- Each run's depth with the rolling mean over the term's last 100 runs, for Grafana.

with

runs as (

    select * from {{ ref('int_probe_runs_flattened') }}

),

final as (

    select
        run_at as time,
        term,
        depth,
        avg(depth) over (
            partition by term order by run_at, run_id
            rows between 99 preceding and current row
        )::double precision as rolling_mean_depth
    from runs

)

select * from final
order by time, term
