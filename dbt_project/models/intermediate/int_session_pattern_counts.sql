{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        unique_key='session_id',
        indexes=[{'columns': ['session_id', 'echo_pattern'], 'unique': true}],
    )
}}

-- Runs of each echo-type sequence (for example EXPANDS>EXPANDS>CIRCULAR), per session.
-- Incremental like int_session_depth_counts: the runs loaded since the last build are counted and
-- added to the counts already here for the same sessions.

{%- set rebuilt = is_incremental() and upstream_rebuilt(ref('int_probe_runs_flattened')) %}

with

runs as (

    {{ loaded_since_last_build(ref('int_probe_runs_flattened')) }}

),

new_counts as (

    select
        session_id,
        echo_pattern,
        count(*)::integer as runs,
        max(loaded_at) as loaded_at
    from runs
    group by session_id, echo_pattern

),

{{ added_to_previous_counts(['session_id', 'echo_pattern'], 'runs', rebuilt) }}

select * from merged
