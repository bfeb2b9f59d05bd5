{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        unique_key=['run_id', 'round_number'],
        post_hook=[
            "create unique index if not exists int_probe_rounds_unnested_key_idx on {{ this }} (run_id, round_number)",
            "analyze {{ this }}",
        ],
    )
}}

-- One row per round of every run, unnested from the run's echo_types (so it needs only the run
-- rows), with the round that followed it (NULL for a run's last round).

with

runs as (

    select * from {{ ref('stg_probe_runs') }} as source_runs
    {% if is_incremental() %}
        where not exists (
            select 1 from {{ this }} as seen
            where seen.run_id = source_runs.run_id
        )
    {% endif %}

),

unnested as (

    select
        runs.run_id,
        runs.session_id,
        runs.term,
        runs.model_name,
        rounds.round_number::integer as round_number,
        rounds.echo_type,
        runs.echo_types[rounds.round_number + 1] as next_echo_type,
        runs.run_at
    from runs
    cross join lateral unnest(runs.echo_types) with ordinality as rounds (echo_type, round_number)

)

select * from unnested
