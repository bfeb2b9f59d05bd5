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

moments as (

    select
        pools.*,
        {{ depth_moment_columns('runs') }}
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
        moments.pool_key,
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
        moments.sessions,
        moments.runs,
        moments.depth_0,
        moments.depth_1,
        moments.depth_2,
        moments.depth_3,
        {{ depth_share_columns('moments.runs', 'moments.depth_') }},
        moments.depth_mean,
        {{ depth_mean_interval_columns('moments.depth_mean', 'moments.depth_variance', 'moments.runs',
                                       'settings.max_rounds') }},
        moments.depth_variance,
        sqrt(moments.depth_variance) as depth_stddev,
        {{ depth_entropy_bits('moments.depth_', 'moments.runs') }} as depth_entropy_bits,
        entropy_intervals.depth_entropy_ci95_low,
        entropy_intervals.depth_entropy_ci95_high,
        moments.first_run_at,
        moments.last_run_at,

        ---------- the judge's agreement with human labels on this model and term (null: none labelled)
        {{ judge_agreement_columns('agreement') }}
    from moments
    inner join settings on moments.pool_key = settings.pool_key
    left join entropy_intervals on moments.pool_key = entropy_intervals.pool_key
    {{ judge_agreement_join('agreement', 'settings') }}

)

select * from final
