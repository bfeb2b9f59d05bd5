-- One row per queued session (nyx-collect submit): runs stored against requested, its shards by
-- state (the newest job of each shard), the workers running its shards, and the rate of its stored
-- runs with the time left at that rate. A view, not a table like the other marts: it is read live
-- (nyx-collect queue, the Grafana panel) while workers collect, without a dbt run.

{{ config(materialized='view') }}

with

sessions as (

    select * from {{ ref('stg_probe_sessions') }}
    where queued

),

shards as (

    select * from {{ ref('int_queue_shards') }}
    where is_current

),

runs as (

    select * from {{ ref('stg_probe_runs') }}

),

shard_counts as (

    select
        session_id,
        count(*)::integer as shards_total,
        (count(*) filter (where state = 'waiting'))::integer as shards_waiting,
        (count(*) filter (where state = 'running'))::integer as shards_running,
        (count(*) filter (where state = 'done'))::integer as shards_done,
        (count(*) filter (where state = 'failed'))::integer as shards_failed,
        (count(*) filter (where state = 'cancelled'))::integer as shards_cancelled,
        string_agg(distinct worker, ', ' order by worker) filter (where state = 'running') as workers
    from shards
    group by session_id

),

stored as (

    select
        sessions.session_id,
        run_stats.runs_stored,
        run_stats.first_run_at,
        run_stats.last_run_at,
        extract(epoch from run_stats.last_run_at - run_stats.first_run_at)::double precision as run_span_s
    from sessions
    cross join lateral (
        select
            count(*)::integer as runs_stored,
            min(runs.run_at) as first_run_at,
            max(runs.run_at) as last_run_at
        from runs
        where runs.session_id = sessions.session_id
    ) as run_stats

),

rated as (

    select
        stored.*,
        case
            when stored.runs_stored >= 2 then {{ safe_ratio('stored.runs_stored', 'stored.run_span_s') }}
        end as runs_per_second
    from stored

),

final as (

    select
        ---------- ids
        sessions.session_id,

        ---------- text
        sessions.term,
        sessions.model_name,
        sessions.status,
        shard_counts.workers,

        ---------- numerics
        sessions.runs_requested,
        rated.runs_stored,
        {{ safe_ratio('rated.runs_stored', 'sessions.runs_requested') }} as progress,
        coalesce(shard_counts.shards_total, 0) as shards_total,
        coalesce(shard_counts.shards_waiting, 0) as shards_waiting,
        coalesce(shard_counts.shards_running, 0) as shards_running,
        coalesce(shard_counts.shards_done, 0) as shards_done,
        coalesce(shard_counts.shards_failed, 0) as shards_failed,
        coalesce(shard_counts.shards_cancelled, 0) as shards_cancelled,
        rated.runs_per_second,
        case
            when sessions.status = 'running' and rated.runs_per_second > 0
                then greatest(sessions.runs_requested - rated.runs_stored, 0) / rated.runs_per_second
        end as eta_seconds,

        ---------- timestamps
        sessions.started_at,
        sessions.finished_at,
        rated.first_run_at,
        rated.last_run_at

    from sessions
    inner join rated on sessions.session_id = rated.session_id
    left join shard_counts on sessions.session_id = shard_counts.session_id

)

select * from final
