-- One row per collect job of the work queue (a shard of a queued session's run numbers): its
-- range, the runs of that range stored, its state, attempts and worker, when it last started and
-- finished. A view, not a table like the other marts: it is read live (nyx-collect queue) while
-- workers collect, without a dbt run.

{{ config(materialized='view') }}

with

shards as (

    select * from {{ ref('int_queue_shards') }}

),

final as (

    select
        session_id,
        term,
        model_name,
        job_id,
        queue_name,
        first_run,
        last_run,
        runs_in_shard,
        runs_stored,
        state,
        job_status,
        attempts,
        worker,
        worker_id,
        is_current,
        started_at,
        finished_at,
        last_run_at
    from shards

)

select * from final
