{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='pool_key',
        on_schema_change='fail',
        indexes=[{'columns': ['pool_key', 'replicate'], 'unique': true}],
    )
}}

-- The percentile bootstrap's resamples: for every pool, var('bootstrap_replicates') resamples of
-- its runs with replacement, as depth counts. Draw i of replicate b takes the run at rank
-- floor(u * runs) of the pool's runs sorted by depth, where u is the top 53 bits of
-- hashint8extended(i, hashint8extended(b, bootstrap_seed + hashtext(pool_key))) over 2^53: the
-- same seed gives the same resamples on every build and every server, and each pool and replicate
-- draws its own stream. (hashint8extended folds a bigint's two halves together, so the replicate
-- goes into the seed, never into the high half of the value.) Rows: pools x replicates; work:
-- replicates x runs per pool (docs/statistics.md).
-- Incremental: a build resamples only the pools whose counts (or the seed or number of replicates)
-- changed since their resamples were drawn (the `drawn_from` signature), so a refresh during a
-- collection costs the pools being collected. A pool over var('bootstrap_max_runs') runs is not
-- resampled (its bootstrap intervals are NULL).

with

pools as (

    select
        pools.*,
        pools.bootstrap_signature as drawn_from
    from {{ ref('int_pool_depth_counts') }} as pools
    where
        pools.runs <= {{ var('bootstrap_max_runs') }}
        {%- if is_incremental() %}
            and not exists (
                select 1 from {{ this }} as drawn
                where drawn.pool_key = pools.pool_key and drawn.drawn_from = pools.bootstrap_signature
            )
        {%- endif %}

),

draws as (

    select
        pools.pool_key,
        pools.drawn_from,
        replicates.replicate,
        pools.runs,
        pools.depth_0,
        pools.depth_1,
        pools.depth_2,
        (
            hashint8extended(
                draw_numbers.draw::bigint,
                hashint8extended(
                    replicates.replicate::bigint,
                    {{ var('bootstrap_seed') }}::bigint + hashtext(pools.pool_key)
                )
            ) & 9007199254740991
        )::double precision / 9007199254740992.0 as u
    from pools
    cross join generate_series(1, {{ var('bootstrap_replicates') }}) as replicates (replicate)
    cross join lateral generate_series(1, pools.runs) as draw_numbers (draw)

),

resampled as (

    select
        pool_key,
        drawn_from,
        replicate,
        {{ depth_at_rank('floor(u * runs)') }} as depth
    from draws

),

final as (

    select
        pool_key,
        drawn_from,
        replicate,
        count(*)::integer as runs,
        {{ depth_counts() }}
    from resampled
    group by pool_key, drawn_from, replicate

)

select * from final
