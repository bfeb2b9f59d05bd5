-- One row per session (also running, failed and interrupted ones): runs stored against requested,
-- the depth distribution with its moments and a 95% confidence interval for the mean (normal,
-- variance floored, within [0, max_rounds]; docs/statistics.md), echo-type frequencies over all
-- rounds, chain-length spread, throughput, and the spread of the chains in embedding space. Every
-- statistic comes from the session's additive counts in int_session_depth_counts, so this table is
-- rebuilt in full from one small row per session.

with

sessions as (

    select * from {{ ref('stg_probe_sessions') }}

),

counts as (

    select * from {{ ref('int_session_depth_counts') }}

),

semantic as (

    select * from {{ ref('stg_session_semantic_variance') }}

),

agreement as (

    select * from {{ ref('int_judge_agreement_by_term') }}

),

settings as (

    select * from {{ ref('int_session_settings') }}

),

joined as (

    select
        sessions.session_id,
        sessions.term,
        sessions.model_name,
        sessions.model_revision,
        sessions.prompt_template,
        sessions.temperature,
        sessions.top_p,
        sessions.top_k,
        sessions.max_rounds,
        sessions.max_new_tokens,
        sessions.seed,
        sessions.batch_size,
        sessions.judge_version,
        sessions.judge_mode,
        sessions.encoder,
        sessions.glossary_id,
        sessions.stop_early,
        sessions.status,
        sessions.started_at,
        sessions.finished_at,
        sessions.runs_requested,
        coalesce(counts.runs, 0) as runs_stored,
        coalesce(counts.depth_0, 0) as depth_0,
        coalesce(counts.depth_1, 0) as depth_1,
        coalesce(counts.depth_2, 0) as depth_2,
        coalesce(counts.depth_3, 0) as depth_3,
        coalesce(counts.rounds_sum, 0) as rounds_total,
        coalesce(counts.n_expands, 0) as n_expands,
        coalesce(counts.n_confirms, 0) as n_confirms,
        coalesce(counts.n_circular, 0) as n_circular,
        coalesce(counts.n_divergent, 0) as n_divergent,
        coalesce(counts.n_collapse, 0) as n_collapse,
        counts.chain_length_sum,
        counts.chain_length_sum_of_squares,
        counts.last_run_at
    from sessions
    left join counts on sessions.session_id = counts.session_id

),

moments as (

    select
        joined.*,
        {{ depth_moment_columns('runs_stored') }},
        {{ depth_median() }} as depth_median,
        {{ mean_from_sums('runs_stored', 'chain_length_sum') }} as chain_length_mean,
        {{ sample_variance_from_sums('runs_stored', 'chain_length_sum', 'chain_length_sum_of_squares') }}
            as chain_length_variance,
        {{ mean_from_sums('runs_stored', 'rounds_total') }} as rounds_mean,
        extract(
            epoch from coalesce(joined.finished_at, joined.last_run_at) - joined.started_at
        )::double precision as duration_s
    from joined

),

most_common as (

    select
        moments.session_id,
        ranked.echo_type as most_common_echo_type,
        {{ safe_ratio('ranked.rounds', 'moments.rounds_total') }} as most_common_echo_type_share
    from moments
    cross join lateral (
        select
            candidates.echo_type,
            candidates.rounds
        from (
            values
            (1, 'EXPANDS', moments.n_expands),
            (2, 'CONFIRMS', moments.n_confirms),
            (3, 'CIRCULAR', moments.n_circular),
            (4, 'DIVERGENT', moments.n_divergent),
            (5, 'COLLAPSE', moments.n_collapse)
        ) as candidates (type_order, echo_type, rounds)
        where moments.rounds_total > 0
        order by candidates.rounds desc, candidates.type_order asc
        limit 1
    ) as ranked

),

final as (

    select
        ---------- ids and parameters
        moments.session_id,
        moments.term,
        moments.model_name,
        moments.model_revision,
        moments.prompt_template,
        moments.temperature,
        moments.top_p,
        moments.top_k,
        moments.max_rounds,
        moments.max_new_tokens,
        moments.seed,
        moments.batch_size,
        moments.judge_version,
        moments.judge_mode,
        moments.encoder,
        moments.glossary_id,
        moments.stop_early,
        moments.status,
        moments.started_at,
        moments.finished_at,
        settings.settings_key,
        settings.pool_key,
        settings.settings,

        ---------- runs
        moments.runs_requested,
        moments.runs_stored,
        moments.runs_stored = moments.runs_requested as is_complete,

        ---------- depth distribution
        moments.depth_0,
        moments.depth_1,
        moments.depth_2,
        moments.depth_3,
        {{ depth_share_columns('moments.runs_stored', 'moments.depth_') }},
        moments.depth_mean,
        moments.depth_median,
        moments.depth_variance,
        sqrt(moments.depth_variance) as depth_stddev,
        {{ depth_mean_interval_columns('moments.depth_mean', 'moments.depth_variance', 'moments.runs_stored',
                                       'moments.max_rounds') }},
        -- NULL without runs
        case
            when moments.runs_stored > 0 then {{ depth_entropy_bits('moments.depth_', 'moments.runs_stored') }}
        end as depth_entropy_bits,

        ---------- echo types over all rounds
        moments.rounds_total,
        moments.n_expands,
        moments.n_confirms,
        moments.n_circular,
        moments.n_divergent,
        moments.n_collapse,
        {{ safe_ratio('moments.n_expands', 'moments.rounds_total') }} as share_expands,
        {{ safe_ratio('moments.n_confirms', 'moments.rounds_total') }} as share_confirms,
        {{ safe_ratio('moments.n_circular', 'moments.rounds_total') }} as share_circular,
        {{ safe_ratio('moments.n_divergent', 'moments.rounds_total') }} as share_divergent,
        {{ safe_ratio('moments.n_collapse', 'moments.rounds_total') }} as share_collapse,
        most_common.most_common_echo_type,
        most_common.most_common_echo_type_share,

        ---------- chains and rounds
        moments.chain_length_mean,
        moments.chain_length_variance,
        sqrt(moments.chain_length_variance) as chain_length_stddev,
        moments.rounds_mean,

        ---------- throughput
        moments.duration_s,
        {{ safe_ratio('moments.runs_stored', 'moments.duration_s') }} as runs_per_second,

        ---------- spread of the chains in embedding space (iris)
        semantic.semantic_chains,
        semantic.semantic_centroid_distance,
        semantic.semantic_pairwise_distance,

        ---------- the judge's agreement with human labels on this model and term (null: none)
        {{ judge_agreement_columns('agreement') }}

    from moments
    left join most_common on moments.session_id = most_common.session_id
    left join semantic on moments.session_id = semantic.session_id
    left join settings on moments.session_id = settings.session_id
    {{ judge_agreement_join('agreement', 'moments') }}

)

select * from final
