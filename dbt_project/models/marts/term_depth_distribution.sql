-- One row per term, model and judge (its version and mode) over all those sessions: the depth
-- histogram, its shares, moments and Shannon entropy (bits; 0 = every run the same depth, 2 =
-- uniform over the four depths). Summed from the per-session counts, so it never rereads the runs.
-- Sessions judged by another judge version, or in frame mode instead of against a reference
-- meaning, are never pooled together.

with

sessions as (

    select * from {{ ref('stg_probe_sessions') }}

),

counts as (

    select * from {{ ref('int_session_depth_counts') }}

),

agreement as (

    select * from {{ ref('int_judge_agreement_by_term') }}

),

summed as (

    select
        sessions.term,
        sessions.model_name,
        sessions.classifier_version,
        sessions.judge_mode,
        count(*)::integer as sessions,
        sum(counts.runs)::integer as runs,
        sum(counts.depth_0)::integer as depth_0,
        sum(counts.depth_1)::integer as depth_1,
        sum(counts.depth_2)::integer as depth_2,
        sum(counts.depth_3)::integer as depth_3,
        min(counts.first_run_at) as first_run_at,
        max(counts.last_run_at) as last_run_at
    from counts
    inner join sessions on counts.session_id = sessions.session_id
    where counts.runs > 0
    group by sessions.term, sessions.model_name, sessions.classifier_version, sessions.judge_mode

),

shares as (

    select
        summed.*,
        {{ safe_ratio('depth_0', 'runs') }} as share_depth_0,
        {{ safe_ratio('depth_1', 'runs') }} as share_depth_1,
        {{ safe_ratio('depth_2', 'runs') }} as share_depth_2,
        {{ safe_ratio('depth_3', 'runs') }} as share_depth_3,
        {{ mean_from_sums('runs', depth_sum()) }} as depth_mean,
        {{ sample_variance_from_sums('runs', depth_sum(), depth_sum_of_squares()) }} as depth_variance
    from summed

),

final as (

    select
        shares.term,
        shares.model_name,
        shares.classifier_version,
        shares.judge_mode,
        shares.sessions,
        shares.runs,
        shares.depth_0,
        shares.depth_1,
        shares.depth_2,
        shares.depth_3,
        shares.share_depth_0,
        shares.share_depth_1,
        shares.share_depth_2,
        shares.share_depth_3,
        shares.depth_mean,
        shares.depth_variance,
        sqrt(shares.depth_variance) as depth_stddev,
        -- 0 - sum rather than -sum: an entropy of 0 is stored as 0, not -0
        0.0 - (
            {{ plogp('shares.share_depth_0') }} + {{ plogp('shares.share_depth_1') }}
            + {{ plogp('shares.share_depth_2') }} + {{ plogp('shares.share_depth_3') }}
        ) as depth_entropy_bits,
        shares.first_run_at,
        shares.last_run_at,
        -- the judge's agreement with human labels on this model and term (null: none labelled)
        {{ judge_agreement_columns('agreement') }}
    from shares
    left join agreement
        on
            shares.model_name = agreement.model_name
            and shares.term = agreement.term
            and shares.classifier_version = agreement.judge_version

)

select * from final
