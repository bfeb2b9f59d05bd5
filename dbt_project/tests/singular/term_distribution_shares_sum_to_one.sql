-- Each term's depth shares sum to 1, and its depth counts to its runs.
select
    term,
    model_name
from {{ ref('term_depth_distribution') }}
where
    abs(share_depth_0 + share_depth_1 + share_depth_2 + share_depth_3 - 1) > 1e-9
    or depth_0 + depth_1 + depth_2 + depth_3 <> runs
