-- One row per session with its headline numbers, for a Grafana table.

with

stats as (

    select * from {{ ref('session_stats') }}

),

final as (

    select
        started_at as time,
        session_id,
        term,
        model_name,
        status,
        runs_stored,
        runs_requested,
        depth_mean,
        depth_stddev
    from stats

)

select * from final
order by time
