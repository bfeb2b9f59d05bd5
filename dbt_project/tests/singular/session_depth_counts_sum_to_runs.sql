-- Every session's depth counts add up to its stored runs, and those to its rows in
-- int_probe_runs_flattened (which checks the incremental session counts against the runs).
with

loaded_runs as (

    select
        session_id,
        count(*) as runs
    from {{ ref('int_probe_runs_flattened') }}
    group by session_id

)

select
    stats.session_id,
    stats.runs_stored,
    loaded_runs.runs as loaded_runs,
    stats.depth_0 + stats.depth_1 + stats.depth_2 + stats.depth_3 as depth_total
from {{ ref('session_stats') }} as stats
full outer join loaded_runs on stats.session_id = loaded_runs.session_id
where
    stats.session_id is null
    or stats.depth_0 + stats.depth_1 + stats.depth_2 + stats.depth_3 <> stats.runs_stored
    or stats.runs_stored <> coalesce(loaded_runs.runs, 0)
