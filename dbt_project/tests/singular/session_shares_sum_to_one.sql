-- Depth shares and echo-type shares of every session with runs sum to 1.
select
    session_id,
    share_depth_0 + share_depth_1 + share_depth_2 + share_depth_3 as depth_share_total,
    share_expands + share_confirms + share_circular + share_divergent + share_collapse as echo_share_total
from {{ ref('session_stats') }}
where
    runs_stored > 0
    and (
        abs(share_depth_0 + share_depth_1 + share_depth_2 + share_depth_3 - 1) > 1e-9
        or abs(share_expands + share_confirms + share_circular + share_divergent + share_collapse - 1) > 1e-9
    )
