-- One row per transition of a collect job (deferred, started, succeeded, failed,
-- deferred_for_retry ...), from procrastinate_events; a view, so it is live.

{{ config(materialized='view') }}

with

source as (

    select * from {{ source('queue', 'procrastinate_events') }}

),

collect_jobs as (

    select id from {{ source('queue', 'procrastinate_jobs') }}
    where task_name = 'nyx.collect_shard'

),

renamed as (

    select
        ---------- ids
        source.id as event_id,
        source.job_id,

        ---------- text
        source.type::text as event_type,

        ---------- timestamps
        source.at as event_at

    from source
    inner join collect_jobs on source.job_id = collect_jobs.id

)

select * from renamed
