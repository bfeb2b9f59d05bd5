-- Is the baseline stable? Every session is compared with its pool's baseline: the
-- earliest-started session with stored runs of the same term under the same settings key and
-- reference meaning (int_session_settings). A session under other settings is never compared
-- with this baseline: it has its own pool and its own baseline. Per session: the difference in
-- mean depth with Welch's t-test, Jensen-Shannon divergence and total variation against the
-- baseline, and the chi-square (or, with small expected counts, exact) test of the 2 x 4 table;
-- the p-values adjusted by Holm and Benjamini-Hochberg over the sessions of one pool. Sessions
-- without runs get a row with empty statistics.

with

stats as (

    select * from {{ ref('session_stats') }}

),

baselines as (

    select distinct on (pool_key)
        pool_key,
        session_id as baseline_session_id
    from stats
    where runs_stored > 0
    order by pool_key asc, started_at asc, session_id asc

),

paired as (

    select
        stats.session_id,
        stats.term,
        stats.pool_key,
        stats.settings_key,
        stats.settings,
        baselines.baseline_session_id,
        coalesce(stats.session_id = baselines.baseline_session_id, false) as is_baseline,
        stats.model_name,
        stats.temperature,
        stats.started_at,
        stats.runs_stored as runs,
        stats.depth_mean,
        stats.depth_stddev,
        {{ pair_input_columns('stats', 'base', 'runs_stored') }},
        case
            when stats.runs_stored > 0 and base.runs_stored > 0
                then {{ js_divergence_of('stats.share_depth_', 'base.share_depth_') }}
        end as js_divergence,
        {{ total_variation_of('stats.share_depth_', 'base.share_depth_') }} as total_variation
    from stats
    left join baselines on stats.pool_key = baselines.pool_key
    left join stats as base on baselines.baseline_session_id = base.session_id

),

compared as (

    select
        paired.*,
        {{ distribution_test_columns('a', 'b') }}
    from paired

),

-- the baseline is not tested against itself, nor a session without runs
tested as (

    select compared.*
    from compared
    where not compared.is_baseline and compared.a_runs > 0

),

{{ p_value_ctes('tested', 'pool_key') }},

final as (

    select
        compared.session_id,
        compared.term,
        compared.pool_key,
        compared.settings_key,
        compared.settings,
        compared.baseline_session_id,
        compared.is_baseline,
        compared.model_name,
        compared.temperature,
        compared.started_at,
        compared.runs,
        compared.depth_mean,
        compared.depth_stddev,
        compared.b_mean as baseline_depth_mean,
        compared.depth_mean_diff,
        compared.depth_mean_diff_se,
        compared.depth_mean_diff / nullif(compared.depth_mean_diff_se, 0) as z_score,
        adjusted.depth_mean_p,
        adjusted.depth_mean_p_holm,
        adjusted.depth_mean_p_bh,
        compared.js_divergence,
        compared.total_variation,
        adjusted.chi_square,
        adjusted.chi_square_df,
        adjusted.chi_square_p,
        adjusted.small_expected_counts,
        adjusted.exact_p,
        adjusted.depth_distribution_test,
        adjusted.depth_distribution_p,
        adjusted.depth_distribution_p_holm,
        adjusted.depth_distribution_p_bh
    from compared
    left join adjusted on compared.session_id = adjusted.session_id

)

select * from final
