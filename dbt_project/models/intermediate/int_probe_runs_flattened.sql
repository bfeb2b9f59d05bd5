{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        unique_key='run_id',
        post_hook=[
            "create unique index if not exists int_probe_runs_flattened_run_id_idx on {{ this }} (run_id)",
            "create index if not exists int_probe_runs_flattened_session_idx on {{ this }} (session_id)",
            "analyze {{ this }}",
        ],
    )
}}

-- One narrow row per run (no text arrays): what every run-level statistic needs.
-- Runs are append-only, so an incremental build adds the runs it has not seen yet.

with

runs as (

    select * from {{ ref('stg_probe_runs') }}

),

flattened as (

    select
        runs.run_id,
        runs.session_id,
        runs.run_number,
        runs.term,
        runs.model_name,
        runs.temperature,
        runs.depth,
        runs.rounds,
        runs.chain_length,
        runs.n_expands,
        runs.n_confirms,
        runs.n_circular,
        runs.n_divergent,
        runs.n_collapse,
        runs.echo_pattern,
        runs.run_at
    from runs
    {% if is_incremental() %}
        where not exists (
            select 1 from {{ this }} as seen
            where seen.run_id = runs.run_id
        )
    {% endif %}

)

select * from flattened
