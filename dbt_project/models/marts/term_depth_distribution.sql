-- One row per pool: a term's sessions under one settings key (model and revision, backend,
-- prompt, sampling, rounds, tokens, judge; see int_session_settings) and one reference meaning.
-- Sessions under other settings are never pooled: a session at temperature 1.5 is its own pool
-- beside the one at 0.8. Per pool: the depth histogram, its shares with Wilson 95% intervals,
-- the mean with its 95% interval (normal, variance floored, within [0, max_rounds]), the
-- variance, and the Shannon entropy (bits; 0 = every run the same depth, 2 = uniform over the
-- four depths) with a percentile-bootstrap 95% interval (int_depth_bootstrap, fixed seed).
-- Summed from per-session counts, never rereading the runs.

with

settings as (

    select distinct on (pool_key) * from {{ ref('int_session_settings') }}
    order by pool_key asc, session_id asc

),

pools as (

    select * from {{ ref('int_pool_depth_counts') }}

),

resamples as (

    select * from {{ ref('int_depth_bootstrap') }}

),

agreement as (

    select * from {{ ref('int_judge_agreement_by_term') }}

),

shares as (

    select
        pools.*,
        {{ safe_ratio('depth_0', 'runs') }} as share_depth_0,
        {{ safe_ratio('depth_1', 'runs') }} as share_depth_1,
        {{ safe_ratio('depth_2', 'runs') }} as share_depth_2,
        {{ safe_ratio('depth_3', 'runs') }} as share_depth_3,
        {{ mean_from_sums('runs', depth_sum()) }} as depth_mean,
        {{ sample_variance_from_sums('runs', depth_sum(), depth_sum_of_squares()) }} as depth_variance
    from pools

),

entropy_intervals as (

    select
        pool_key,
        percentile_cont(0.025) within group (order by entropy_bits) as depth_entropy_ci95_low,
        percentile_cont(0.975) within group (order by entropy_bits) as depth_entropy_ci95_high
    from (
        select
            resamples.pool_key,
            {{ depth_entropy_bits('resamples.depth_', 'resamples.runs') }} as entropy_bits
        from resamples
        -- only resamples of the pool's current counts (older ones are replaced on the next build)
        inner join pools
            on resamples.pool_key = pools.pool_key and resamples.drawn_from = pools.bootstrap_signature
    ) as replicate_entropies
    group by pool_key

),

final as (

    select
        ---------- the pool and its settings
        settings.term,
        shares.pool_key,
        settings.settings_key,
        settings.settings,
        settings.model_name,
        settings.model_revision,
        settings.backend,
        settings.prompt_template,
        settings.temperature,
        settings.top_p,
        settings.top_k,
        settings.max_rounds,
        settings.max_new_tokens,
        settings.stop_early,
        settings.judge_version,
        settings.judge_mode,
        settings.encoder,
        settings.glossary_id,
        settings.reference_version,

        ---------- depth distribution
        shares.sessions,
        shares.runs,
        shares.depth_0,
        shares.depth_1,
        shares.depth_2,
        shares.depth_3,
        {%- for d in range(4) %}
            shares.share_depth_{{ d }},
            {{ wilson_low('shares.depth_' ~ d, 'shares.runs') }} as share_depth_{{ d }}_ci95_low,
            {{ wilson_high('shares.depth_' ~ d, 'shares.runs') }} as share_depth_{{ d }}_ci95_high,
        {%- endfor %}
        shares.depth_mean,
        {{ depth_mean_ci_low('shares.depth_mean', 'shares.depth_variance', 'shares.runs', 'settings.max_rounds') }}
            as depth_ci95_low,
        {{ depth_mean_ci_high('shares.depth_mean', 'shares.depth_variance', 'shares.runs', 'settings.max_rounds') }}
            as depth_ci95_high,
        shares.depth_variance,
        sqrt(shares.depth_variance) as depth_stddev,
        {{ depth_entropy_bits('shares.share_depth_') }} as depth_entropy_bits,
        entropy_intervals.depth_entropy_ci95_low,
        entropy_intervals.depth_entropy_ci95_high,
        shares.first_run_at,
        shares.last_run_at,

        ---------- the judge's agreement with human labels on this model and term (null: none labelled)
        {{ judge_agreement_columns('agreement') }}
    from shares
    inner join settings on shares.pool_key = settings.pool_key
    left join entropy_intervals on shares.pool_key = entropy_intervals.pool_key
    left join agreement
        on
            settings.model_name = agreement.model_name
            and settings.term = agreement.term
            and settings.judge_version = agreement.judge_version

)

select * from final
