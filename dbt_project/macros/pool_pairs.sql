{#
    The body of term_comparison and settings_comparison: every pair of pools of
    term_depth_distribution that `pair_condition` (over aliases a and b) admits, with the
    difference in mean depth and Welch's t-test of it, Jensen-Shannon divergence with a
    percentile-bootstrap 95% interval (replicate b of one pool against replicate b of the other),
    total variation, the chi-square test of the 2 x 4 table of depth counts and, where expected
    counts are small, the Freeman-Halton exact test; both p-values adjusted for the pairs of one
    family (`family`: columns of the pair) by Holm and by Benjamini-Hochberg.
#}
{% macro pool_pair_statistics(pair_condition, family) -%}

with

distribution as (

    select * from {{ ref('term_depth_distribution') }}

),

-- only resamples of the pools' current counts
resamples as (

    select resamples.*
    from {{ ref('int_depth_bootstrap') }} as resamples
    inner join {{ ref('int_pool_depth_counts') }} as pools
        on resamples.pool_key = pools.pool_key and resamples.drawn_from = pools.bootstrap_signature

),

pairs as (

    select
        a.term as term_a,
        b.term as term_b,
        a.pool_key as pool_key_a,
        b.pool_key as pool_key_b,
        a.settings_key as settings_key_a,
        b.settings_key as settings_key_b,
        a.settings as settings_a,
        b.settings as settings_b,
        a.model_name,
        array_remove(array[
            {%- for part in var('settings_parts') %}
            case when a.{{ part }} is distinct from b.{{ part }} then '{{ part }}' end,
            {%- endfor %}
            case when a.reference_version is distinct from b.reference_version then 'reference_version' end
        ], null)::text [] as differs_in,
        {{ pair_input_columns('a', 'b') }},
        {{ js_divergence_of('a.share_depth_', 'b.share_depth_') }} as js_divergence,
        {{ total_variation_of('a.share_depth_', 'b.share_depth_') }} as total_variation
    from distribution as a
    inner join distribution as b on {{ pair_condition }}

),

tested as (

    select
        pairs.*,
        {{ distribution_test_columns('a', 'b') }}
    from pairs

),

{{ p_value_ctes('tested', family) }},

js_intervals as (

    select
        pairs.pool_key_a,
        pairs.pool_key_b,
        percentile_cont(0.025) within group (order by replicate_js.js) as js_divergence_ci95_low,
        percentile_cont(0.975) within group (order by replicate_js.js) as js_divergence_ci95_high
    from pairs
    inner join resamples as ra on pairs.pool_key_a = ra.pool_key
    inner join resamples as rb on pairs.pool_key_b = rb.pool_key and ra.replicate = rb.replicate
    cross join lateral (
        select {{ js_divergence_of('ra.depth_', 'rb.depth_', 'ra.runs', 'rb.runs') }} as js
    ) as replicate_js
    group by pairs.pool_key_a, pairs.pool_key_b

),

final as (

    select
        adjusted.term_a,
        adjusted.term_b,
        adjusted.pool_key_a,
        adjusted.pool_key_b,
        adjusted.settings_key_a,
        adjusted.settings_key_b,
        adjusted.settings_a,
        adjusted.settings_b,
        adjusted.differs_in,
        adjusted.model_name,
        adjusted.a_runs as runs_a,
        adjusted.b_runs as runs_b,
        adjusted.a_mean as depth_mean_a,
        adjusted.b_mean as depth_mean_b,
        adjusted.depth_mean_diff,
        adjusted.depth_mean_diff_se,
        stats.depth_mean_diff_ci_low(
            adjusted.depth_mean_diff, adjusted.depth_mean_diff_se, adjusted.b_max_rounds, {{ z95_argument() }}
        )
            as depth_mean_diff_ci95_low,
        stats.depth_mean_diff_ci_high(
            adjusted.depth_mean_diff, adjusted.depth_mean_diff_se, adjusted.a_max_rounds, {{ z95_argument() }}
        )
            as depth_mean_diff_ci95_high,
        adjusted.depth_mean_welch_df,
        adjusted.depth_mean_p,
        adjusted.depth_mean_p_holm,
        adjusted.depth_mean_p_bh,
        adjusted.js_divergence,
        js_intervals.js_divergence_ci95_low,
        js_intervals.js_divergence_ci95_high,
        adjusted.total_variation,
        adjusted.chi_square,
        adjusted.chi_square_df,
        adjusted.chi_square_p,
        adjusted.min_expected_count,
        adjusted.small_expected_counts,
        adjusted.exact_p,
        adjusted.depth_distribution_test,
        adjusted.depth_distribution_p,
        adjusted.depth_distribution_p_holm,
        adjusted.depth_distribution_p_bh,
        adjusted.depth_distribution_p_family_size::integer as family_size
    from adjusted
    left join js_intervals
        on
            adjusted.pool_key_a = js_intervals.pool_key_a
            and adjusted.pool_key_b = js_intervals.pool_key_b

)

select * from final

{%- endmacro %}
