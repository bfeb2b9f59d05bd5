-- Is the baseline stable? Every session is compared with its term's baseline: the
-- earliest-started session of the same term (any model, temperature or date) that stored runs.
-- z_score is the difference in mean depth over its standard error. Sessions without runs get a
-- row with empty statistics.

with

stats as (

    select * from {{ ref('session_stats') }}

),

baselines as (

    select distinct on (term)
        term,
        session_id as baseline_session_id
    from stats
    where runs_stored > 0
    order by term asc, started_at asc, session_id asc

),

paired as (

    select
        stats.session_id,
        stats.term,
        baselines.baseline_session_id,
        coalesce(stats.session_id = baselines.baseline_session_id, false) as is_baseline,
        stats.model_name,
        stats.temperature,
        stats.started_at,
        stats.runs_stored as runs,
        stats.depth_mean,
        stats.depth_stddev,
        stats.depth_variance,
        base.runs_stored as baseline_runs,
        base.depth_mean as baseline_depth_mean,
        base.depth_variance as baseline_depth_variance,
        stats.share_depth_0 as p0,
        stats.share_depth_1 as p1,
        stats.share_depth_2 as p2,
        stats.share_depth_3 as p3,
        base.share_depth_0 as q0,
        base.share_depth_1 as q1,
        base.share_depth_2 as q2,
        base.share_depth_3 as q3
    from stats
    left join baselines on stats.term = baselines.term
    left join stats as base on baselines.baseline_session_id = base.session_id

),

compared as (

    select
        session_id,
        term,
        baseline_session_id,
        is_baseline,
        model_name,
        temperature,
        started_at,
        runs,
        depth_mean,
        depth_stddev,
        baseline_depth_mean,
        depth_mean - baseline_depth_mean as depth_mean_diff,
        sqrt(depth_variance / runs + baseline_depth_variance / baseline_runs) as depth_mean_diff_se,
        case
            when runs > 0 and baseline_runs > 0
                then
                    {{ js_divergence_term('p0', 'q0') }} + {{ js_divergence_term('p1', 'q1') }}
                    + {{ js_divergence_term('p2', 'q2') }} + {{ js_divergence_term('p3', 'q3') }}
        end as js_divergence,
        0.5 * (abs(p0 - q0) + abs(p1 - q1) + abs(p2 - q2) + abs(p3 - q3)) as total_variation
    from paired

),

final as (

    select
        session_id,
        term,
        baseline_session_id,
        is_baseline,
        model_name,
        temperature,
        started_at,
        runs,
        depth_mean,
        depth_stddev,
        baseline_depth_mean,
        depth_mean_diff,
        depth_mean_diff_se,
        depth_mean_diff / nullif(depth_mean_diff_se, 0) as z_score,
        js_divergence,
        total_variation
    from compared

)

select * from final
