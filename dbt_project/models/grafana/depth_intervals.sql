-- One row per pool (a term under one settings key) with its mean depth, entropy and depth-3 share
-- and their 95% intervals, for a Grafana table or error-bar panel.

with

distribution as (

    select * from {{ ref('term_depth_distribution') }}

),

final as (

    select
        last_run_at as time,
        term,
        settings,
        pool_key,
        runs,
        depth_mean,
        depth_ci95_low,
        depth_ci95_high,
        depth_entropy_bits,
        depth_entropy_ci95_low,
        depth_entropy_ci95_high,
        share_depth_3,
        share_depth_3_ci95_low,
        share_depth_3_ci95_high
    from distribution

)

select * from final
