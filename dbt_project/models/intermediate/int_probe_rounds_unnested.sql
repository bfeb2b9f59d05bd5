{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        unique_key=['run_id', 'round_number'],
        indexes=[
            {'columns': ['run_id', 'round_number'], 'unique': true},
            {'columns': ['loaded_at']},
        ],
    )
}}

-- One row per round of every run, unnested with ordinality from the run's echo_types (so it needs
-- only the run rows, not raw.probe_rounds), with the type of the round that followed it. An
-- incremental build unnests the runs loaded into int_probe_runs_flattened since the last one.
-- Kept narrow (no term or model: join the session) because it is the largest table.

with

runs as (

    {{ loaded_since_last_build(ref('int_probe_runs_flattened')) }}

),

unnested as (

    select
        ---------- ids
        runs.run_id,
        runs.session_id,
        rounds.round_number::integer as round_number,

        ---------- text
        rounds.echo_type,
        runs.echo_types[rounds.round_number + 1] as next_echo_type,

        ---------- timestamps
        runs.run_at,
        runs.loaded_at

    from runs
    cross join lateral unnest(runs.echo_types) with ordinality as rounds (echo_type, round_number)

)

select * from unnested
