-- Each term's runs and depth counts (per model and judge) equal the sum over its sessions in session_stats.
with

by_sessions as (

    select
        term,
        model_name,
        classifier_version,
        judge_mode,
        count(*) filter (where runs_stored > 0) as sessions,
        sum(runs_stored) as runs,
        sum(depth_3) as depth_3
    from {{ ref('session_stats') }}
    group by term, model_name, classifier_version, judge_mode
    having sum(runs_stored) > 0

)

select
    coalesce(dist.term, by_sessions.term) as term,
    coalesce(dist.model_name, by_sessions.model_name) as model_name
from {{ ref('term_depth_distribution') }} as dist
full outer join by_sessions
    on
        dist.term = by_sessions.term
        and dist.model_name = by_sessions.model_name
        and dist.classifier_version = by_sessions.classifier_version
        and dist.judge_mode = by_sessions.judge_mode
where
    dist.term is null
    or by_sessions.term is null
    or dist.sessions <> by_sessions.sessions
    or dist.runs <> by_sessions.runs
    or dist.depth_3 <> by_sessions.depth_3
