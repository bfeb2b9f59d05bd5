-- The tests of every pair of terms under one settings key (marts.term_comparison) for a Grafana
-- table: the difference in mean depth with its 95% interval and p-values, raw and adjusted.

with

comparison as (

    select * from {{ ref('term_comparison') }}

),

final as (

    select
        term_a,
        term_b,
        settings_a as settings,
        runs_a,
        runs_b,
        depth_mean_diff,
        depth_mean_diff_ci95_low,
        depth_mean_diff_ci95_high,
        depth_mean_p,
        depth_mean_p_holm,
        depth_mean_p_bh,
        js_divergence,
        js_divergence_ci95_low,
        js_divergence_ci95_high,
        depth_distribution_test,
        depth_distribution_p,
        depth_distribution_p_holm,
        depth_distribution_p_bh,
        family_size
    from comparison

)

select * from final
