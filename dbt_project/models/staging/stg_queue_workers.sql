-- One row per queue worker that has started a job: its procrastinate id and the host, pid and
-- device behind it (raw.queue_workers), with the label nyx-collect queue shows. A view: live.

{{ config(materialized='view') }}

with

source as (

    select * from {{ source('raw', 'queue_workers') }}

),

renamed as (

    select
        ---------- ids
        worker_id,

        ---------- text
        hostname,
        device,
        hostname || ':' || pid::text || ' (' || device || ')' as worker_label,

        ---------- numerics
        pid,

        ---------- timestamps
        started_at

    from source

)

select * from renamed
