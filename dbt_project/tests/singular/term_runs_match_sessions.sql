-- Each term's runs and depth counts (per model and judge) equal the sum over its sessions in session_stats.
with

by_sessions as (

    select
        pool_key,
        count(*) filter (where runs_stored > 0) as sessions,
        sum(runs_stored) as runs,
        sum(depth_3) as depth_3
    from {{ ref('session_stats') }}
    group by pool_key
    having sum(runs_stored) > 0

)

select coalesce(dist.pool_key, by_sessions.pool_key) as pool_key
from {{ ref('term_depth_distribution') }} as dist
full outer join by_sessions on dist.pool_key = by_sessions.pool_key
where
    dist.pool_key is null
    or by_sessions.pool_key is null
    or dist.sessions <> by_sessions.sessions
    or dist.runs <> by_sessions.runs
    or dist.depth_3 <> by_sessions.depth_3
