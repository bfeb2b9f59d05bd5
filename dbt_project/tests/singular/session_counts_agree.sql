-- The incremental per-session counts agree with each other: the rounds of each echo type add up
-- to the session's rounds, the patterns to its runs, and a run of r rounds has r - 1 transitions.
with

depth_counts as (

    select * from {{ ref('int_session_depth_counts') }}

),

echo_type_rounds as (

    select
        session_id,
        sum(rounds) as rounds
    from {{ ref('int_session_echo_type_counts') }}
    group by session_id

),

pattern_runs as (

    select
        session_id,
        sum(runs) as runs
    from {{ ref('int_session_pattern_counts') }}
    group by session_id

),

transitions as (

    select
        session_id,
        sum(transitions) as transitions
    from {{ ref('int_session_transition_counts') }}
    group by session_id

)

select
    depth_counts.session_id,
    depth_counts.runs,
    depth_counts.rounds_sum,
    echo_type_rounds.rounds as echo_type_rounds,
    pattern_runs.runs as pattern_runs,
    transitions.transitions
from depth_counts
left join echo_type_rounds on depth_counts.session_id = echo_type_rounds.session_id
left join pattern_runs on depth_counts.session_id = pattern_runs.session_id
left join transitions on depth_counts.session_id = transitions.session_id
where
    echo_type_rounds.rounds is distinct from depth_counts.rounds_sum::numeric
    or pattern_runs.runs is distinct from depth_counts.runs::numeric
    or coalesce(transitions.transitions, 0) <> depth_counts.rounds_sum - depth_counts.runs
