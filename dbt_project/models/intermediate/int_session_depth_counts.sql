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

previous_counts as (

    {% if is_incremental() and not rebuilt %}
        select
            session_id,
            runs,
            depth_0,
            depth_1,
            depth_2,
            depth_3,
            rounds_sum,
            chain_length_sum,
            chain_length_sum_of_squares,
            n_expands,
            n_confirms,
            n_circular,
            n_divergent,
            n_collapse,
            first_run_at,
            last_run_at,
            loaded_at
        from {{ this }}
        where session_id in (select new_counts.session_id from new_counts)
    {% else %}
        select * from new_counts
        where false
    {% endif %}

),

merged as (

    select
        session_id,
        sum(runs)::integer as runs,
        sum(depth_0)::integer as depth_0,
        sum(depth_1)::integer as depth_1,
        sum(depth_2)::integer as depth_2,
        sum(depth_3)::integer as depth_3,
        sum(rounds_sum)::integer as rounds_sum,
        sum(chain_length_sum)::bigint as chain_length_sum,
        sum(chain_length_sum_of_squares)::bigint as chain_length_sum_of_squares,
        sum(n_expands)::integer as n_expands,
        sum(n_confirms)::integer as n_confirms,
        sum(n_circular)::integer as n_circular,
        sum(n_divergent)::integer as n_divergent,
        sum(n_collapse)::integer as n_collapse,
        min(first_run_at) as first_run_at,
        max(last_run_at) as last_run_at,
        max(loaded_at) as loaded_at
    from (
        select * from new_counts
        union all
        select * from previous_counts
    ) as counts
    group by session_id

)

select * from merged
