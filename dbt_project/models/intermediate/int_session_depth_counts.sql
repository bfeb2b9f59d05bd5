{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        unique_key='session_id',
        indexes=[{'columns': ['session_id'], 'unique': true}],
    )
}}

-- One row per session with runs: the additive run-level counts and sums every session and term
-- statistic is derived from (depth counts, rounds, chain-length sums, echo-type counts). An
-- incremental build counts only the runs loaded since the last one and adds the counts already
-- here for the same sessions, so a session that is still collecting costs its new runs only.

{%- set rebuilt = is_incremental() and upstream_rebuilt(ref('int_probe_runs_flattened')) %}

with

runs as (

    {{ loaded_since_last_build(ref('int_probe_runs_flattened')) }}

),

new_counts as (

    select
        session_id,
        count(*)::integer as runs,
        {{ depth_counts() }},
        sum(rounds)::integer as rounds_sum,
        sum(chain_length)::bigint as chain_length_sum,
        sum(chain_length * chain_length)::bigint as chain_length_sum_of_squares,
        sum(n_expands)::integer as n_expands,
        sum(n_confirms)::integer as n_confirms,
        sum(n_circular)::integer as n_circular,
        sum(n_divergent)::integer as n_divergent,
        sum(n_collapse)::integer as n_collapse,
        min(run_at) as first_run_at,
        max(run_at) as last_run_at,
        max(loaded_at) as loaded_at
    from runs
    group by session_id

),

{{
    added_to_previous_counts(
        ['session_id'],
        [
            'runs', 'depth_0', 'depth_1', 'depth_2', 'depth_3', 'rounds_sum',
            ['chain_length_sum', 'sum', 'bigint'], ['chain_length_sum_of_squares', 'sum', 'bigint'],
            'n_expands', 'n_confirms', 'n_circular', 'n_divergent', 'n_collapse',
            ['first_run_at', 'min', none], ['last_run_at', 'max', none],
        ],
        rebuilt
    )
}}

select * from merged
