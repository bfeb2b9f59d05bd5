-- One row per queued session with its progress, for the Grafana table "collection progress":
-- running sessions first. A view over the live mart, so the panel is current without a dbt run.
-- The model is named apart from the mart of the same name (dbt model names are unique in a
-- project); its relation is grafana.collection_progress.

{{ config(alias='collection_progress') }}

with

progress as (

    select * from {{ ref('collection_progress') }}

),

final as (

    select
        started_at as time,
        session_id,
        term,
        model_name,
        status,
        runs_stored,
        runs_requested,
        round((100 * progress)::numeric, 1)::double precision as percent_done,
        shards_total,
        shards_waiting,
        shards_running,
        shards_done,
        shards_failed,
        workers,
        runs_per_second,
        eta_seconds,
        last_run_at
    from progress

)

select * from final
order by status = 'running' desc, time desc
