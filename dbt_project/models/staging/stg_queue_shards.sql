-- One row per collect job of the work queue (task nyx.collect_shard): the shard of run numbers it
-- collects for its session, and procrastinate's status mapped to the words nyx-collect queue shows.
-- A view over procrastinate_jobs, so progress is live without a dbt run; the periodic refresh job
-- (nyx.refresh) is left out.

{{ config(materialized='view') }}

with

source as (

    select * from {{ source('queue', 'procrastinate_jobs') }}
    where task_name = 'nyx.collect_shard'

),

renamed as (

    select
        ---------- ids
        id as job_id,
        (args ->> 'session_id')::uuid as session_id,
        worker_id,

        ---------- text
        queue_name::text as queue_name,
        lock as shard_lock,
        status::text as job_status,
        case status::text
            when 'todo' then 'waiting'
            when 'doing' then 'running'
            when 'succeeded' then 'done'
            when 'failed' then 'failed'
            else 'cancelled'
        end as state,

        ---------- numerics
        (args ->> 'first')::integer as first_run,
        (args ->> 'last')::integer as last_run,
        (args ->> 'last')::integer - (args ->> 'first')::integer + 1 as runs_in_shard,
        attempts,

        ---------- booleans
        abort_requested,

        ---------- timestamps
        scheduled_at

    from source

)

select * from renamed
