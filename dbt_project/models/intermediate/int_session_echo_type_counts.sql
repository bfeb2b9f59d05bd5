{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        unique_key='session_id',
        indexes=[{'columns': ['session_id', 'round_number', 'echo_type'], 'unique': true}],
    )
}}

-- Rounds of each echo type at each round number, per session. Incremental like
-- int_session_depth_counts: the rounds loaded since the last build are counted and added to the
-- counts already here for the same sessions.

{%- set rebuilt = is_incremental() and upstream_rebuilt(ref('int_probe_rounds_unnested')) %}

with

rounds as (

    {{ loaded_since_last_build(ref('int_probe_rounds_unnested')) }}

),

new_counts as (

    select
        session_id,
        round_number,
        echo_type,
        count(*)::integer as rounds,
        max(loaded_at) as loaded_at
    from rounds
    group by session_id, round_number, echo_type

),

{{ added_to_previous_counts(['session_id', 'round_number', 'echo_type'], 'rounds', rebuilt) }}

select * from merged
