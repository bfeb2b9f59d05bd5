-- No run was skipped by the incremental load. A build loads the raw runs above the highest
-- run_id loaded so far minus var('late_run_lookback'), so a run committed late with an id below
-- that line would never be loaded: every raw run up to it must be here. A failure means such a
-- run exists; `dbt build --full-refresh` reloads everything.
with

settled as (

    select max(run_id) - {{ var('late_run_lookback', 10000) }} as run_id
    from {{ ref('int_probe_runs_flattened') }}

),

raw_runs as (

    select count(*) as runs
    from {{ source('raw', 'variance_probe_runs') }}
    where id <= (select settled.run_id from settled)

),

loaded_runs as (

    select count(*) as runs
    from {{ ref('int_probe_runs_flattened') }}
    where run_id <= (select settled.run_id from settled)

)

select
    raw_runs.runs as raw_runs,
    loaded_runs.runs as loaded_runs
from raw_runs
cross join loaded_runs
where raw_runs.runs > loaded_runs.runs
