{{ config(materialized='table') }}

-- The percentile bootstrap's resamples: for every pool, var('bootstrap_replicates') resamples of
-- its runs with replacement, as depth counts. Draw i of replicate b takes the run at rank
-- floor(u * runs) of the pool's runs sorted by depth, where u is the top 53 bits of
-- hashint8extended(i, hashint8extended(b, bootstrap_seed + hashtext(pool_key))) over 2^53: the
-- same seed gives the same resamples on every build and every server, and each pool and replicate
-- draws its own stream. (hashint8extended folds a bigint's two halves together, so the replicate
-- goes into the seed, never into the high half of the value.) Rows: pools x replicates; work:
-- replicates x runs per pool (docs/statistics.md).

with

pools as (

    select * from {{ ref('int_pool_depth_counts') }}

),

draws as (

    select
        pools.pool_key,
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
        replicate,
        {{ depth_at_rank('floor(u * runs)') }} as depth
    from draws

),

final as (

    select
        pool_key,
        replicate,
        count(*)::integer as runs,
        {{ depth_counts() }}
    from resampled
    group by pool_key, replicate

)

select * from final
