-- One row per collect job with what its shard has done: the runs of its range stored so far, when
-- it last started and finished, the worker that took it last as text, and whether it is the
-- newest job of its shard (a shard submitted again after it failed has an older job beside it).
-- A view over the queue's views and the raw runs, so it is live; the two queue marts read it.

{{ config(materialized='view') }}

with

shards as (

    select * from {{ ref('stg_queue_shards') }}

),

sessions as (

    select * from {{ ref('stg_probe_sessions') }}

),

events as (

    select * from {{ ref('stg_queue_events') }}

),

workers as (

    select * from {{ ref('stg_queue_workers') }}

),

runs as (

    select * from {{ ref('stg_probe_runs') }}

),

event_times as (

    select
        job_id,
        max(event_at) filter (where event_type = 'started') as started_at,
        max(event_at) filter (
            where event_type in ('succeeded', 'failed', 'cancelled', 'aborted')
        ) as finished_at
    from events
    group by job_id

),

final as (

    select
        ---------- ids
        shards.job_id,
        shards.session_id,
        shards.worker_id,

        ---------- text
        sessions.term,
        sessions.model_name,
        shards.queue_name,
        shards.shard_lock,
        shards.job_status,
        shards.state,
        case
            when shards.worker_id is not null
                then coalesce(workers.worker_label, 'worker ' || shards.worker_id::text)
        end as worker,

        ---------- numerics
        shards.first_run,
        shards.last_run,
        shards.runs_in_shard,
        shard_runs.runs as runs_stored,
        shards.attempts,

        ---------- booleans
        row_number() over (
            partition by shards.session_id, shards.first_run, shards.last_run
            order by shards.job_id desc
        ) = 1 as is_current,

        ---------- timestamps
        event_times.started_at,
        case
            when shards.state in ('done', 'failed', 'cancelled') then event_times.finished_at
        end as finished_at,
        shard_runs.last_run_at

    from shards
    left join sessions on shards.session_id = sessions.session_id
    left join workers on shards.worker_id = workers.worker_id
    left join event_times on shards.job_id = event_times.job_id
    cross join lateral (
        select
            count(*)::integer as runs,
            max(runs.run_at) as last_run_at
        from runs
        where
            runs.session_id = shards.session_id
            and runs.run_number between shards.first_run and shards.last_run
    ) as shard_runs

)

select * from final
