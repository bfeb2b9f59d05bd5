-- One row per pool (term, settings key, reference meaning) with stored runs: its sessions' depth
-- counts summed. Every pooled statistic (term_depth_distribution, the bootstrap, the comparisons)
-- starts from here, so sessions of other settings never join a pool.

with

settings as (

    select * from {{ ref('int_session_settings') }}

),

counts as (

    select * from {{ ref('int_session_depth_counts') }}

),

summed as (

    select
        settings.pool_key,
        count(*)::integer as sessions,
        sum(counts.runs)::integer as runs,
        sum(counts.depth_0)::integer as depth_0,
        sum(counts.depth_1)::integer as depth_1,
        sum(counts.depth_2)::integer as depth_2,
        sum(counts.depth_3)::integer as depth_3,
        min(counts.first_run_at) as first_run_at,
        max(counts.last_run_at) as last_run_at
    from counts
    inner join settings on counts.session_id = settings.session_id
    where counts.runs > 0
    group by settings.pool_key

),

final as (

    select
        summed.*,
        -- what a pool's bootstrap resamples are drawn from: stale resamples never match it
        concat_ws(
            ',', summed.depth_0, summed.depth_1, summed.depth_2, summed.depth_3,
            {{ var('bootstrap_replicates') }}, {{ var('bootstrap_seed') }}
        ) as bootstrap_signature
    from summed

)

select * from final
