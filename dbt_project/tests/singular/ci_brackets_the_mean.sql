-- The 95% confidence interval of the mean depth contains the mean, lies in [0, max_rounds] and is
-- never a point (docs/statistics.md): every session with runs, and every judgement of one.
select session_id
from {{ ref('session_stats') }}
where
    runs_stored > 0
    and not (
        0 <= depth_ci95_low and depth_ci95_low <= depth_mean and depth_mean <= depth_ci95_high
        and depth_ci95_low < depth_ci95_high and depth_ci95_high <= max_rounds
    )

union all

select judgements.session_id
from {{ ref('session_judgements') }} as judgements
inner join {{ ref('session_stats') }} as sessions on judgements.session_id = sessions.session_id
where
    judgements.runs > 0
    and not (
        0 <= judgements.depth_ci95_low and judgements.depth_ci95_low <= judgements.depth_mean
        and judgements.depth_mean <= judgements.depth_ci95_high
        and judgements.depth_ci95_low < judgements.depth_ci95_high
        and judgements.depth_ci95_high <= sessions.max_rounds
    )
