{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        unique_key='run_id',
        indexes=[
            {'columns': ['run_id'], 'unique': true},
            {'columns': ['loaded_at']},
        ],
    )
}}

-- One row per run, with the facts every run-level statistic needs. Runs are append-only, so an
-- incremental build adds the runs it has not seen yet: those above the highest run_id already
-- here, and late commits with a lower id (a concurrent collector's transaction that committed
-- after a newer one) as long as they lie within var('late_run_lookback') ids of it.

with

runs as (

    select * from {{ ref('stg_probe_runs') }}

),

new_runs as (

    select runs.*
    from runs
    {% if is_incremental() %}
        where
            runs.run_id > {{ incremental_watermark('run_id', 'bigint', '0') }} - {{ var('late_run_lookback', 10000) }}
            and not exists (
                select 1 from {{ this }} as seen
                where seen.run_id = runs.run_id
            )
    {% endif %}

),

flattened as (

    select
        ---------- ids
        new_runs.run_id,
        new_runs.session_id,
        new_runs.run_number,

        ---------- text
        new_runs.term,
        new_runs.model_name,
        new_runs.echo_types,
        new_runs.echo_pattern,

        ---------- numerics
        new_runs.temperature,
        new_runs.depth,
        new_runs.rounds,
        new_runs.chain_length,
        new_runs.n_expands,
        new_runs.n_confirms,
        new_runs.n_circular,
        new_runs.n_divergent,
        new_runs.n_collapse,

        ---------- timestamps
        new_runs.run_at,
        {{ load_timestamp() }} as loaded_at

    from new_runs

)

select * from flattened
