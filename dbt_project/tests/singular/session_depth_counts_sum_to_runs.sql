-- Every session's depth counts add up to its stored runs, and those match the raw table.
with

raw_runs as (

    select
        session_id,
        count(*) as n
    from {{ source('raw', 'variance_probe_runs') }}
    group by session_id

)

select
    stats.session_id,
    stats.runs_stored,
    raw_runs.n as raw_runs,
    stats.depth_0 + stats.depth_1 + stats.depth_2 + stats.depth_3 as depth_total
from {{ ref('session_stats') }} as stats
left join raw_runs on stats.session_id = raw_runs.session_id
where
    stats.depth_0 + stats.depth_1 + stats.depth_2 + stats.depth_3 <> stats.runs_stored
    or stats.runs_stored <> coalesce(raw_runs.n, 0)
