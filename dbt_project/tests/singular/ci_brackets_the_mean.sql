-- The 95% confidence interval contains the mean.
select session_id
from {{ ref('session_stats') }}
where
    runs_stored > 1
    and not (depth_ci95_low <= depth_mean and depth_mean <= depth_ci95_high)
