{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        unique_key='session_id',
        indexes=[{'columns': ['session_id', 'from_echo_type', 'to_echo_type'], 'unique': true}],
    )
}}

-- Consecutive round pairs of each (from type, to type), per session. Incremental like
-- int_session_depth_counts: the pairs loaded since the last build are counted and added to the
-- counts already here for the same sessions.

-- depends_on: {{ ref('int_probe_rounds_unnested') }}

{%- set rebuilt = is_incremental() and upstream_rebuilt(ref('int_probe_rounds_unnested')) %}

with

transitions as (

    {{ loaded_since_last_build(ref('int_round_transitions')) }}

),

new_counts as (

    select
        session_id,
        from_echo_type,
        to_echo_type,
        count(*)::integer as transitions,
        max(loaded_at) as loaded_at
    from transitions
    group by session_id, from_echo_type, to_echo_type

),

{{ added_to_previous_counts(['session_id', 'from_echo_type', 'to_echo_type'], 'transitions', rebuilt) }}

select * from merged
