-- One row per session and judge version: the judgement made while collecting (is_original) and
-- every later one (nyx-collect rejudge), each with its depth distribution, mean and 95% interval,
-- so a better judge applies to data already collected and the two can be read side by side.
-- is_newest marks the judgement to read by default. A session collected with stop_early holds
-- only the rounds up to its first break: under a later judge that would have gone on, its depth
-- is a lower bound (depth_is_lower_bound).

with

sessions as (

    select * from {{ ref('stg_probe_sessions') }}

),

original_counts as (

    select * from {{ ref('int_session_depth_counts') }}

),

later_counts as (

    select * from {{ ref('int_rejudged_session_counts') }}

),

later_settings as (

    select * from {{ ref('stg_session_judgements') }}

),

glossary as (

    select * from {{ ref('stg_glossary') }}

),

original as (

    select
        sessions.session_id,
        sessions.judge_version,
        sessions.judge_mode,
        sessions.glossary_id,
        sessions.encoder,
        sessions.judge_settings,
        true as is_original,
        sessions.started_at as judged_at,
        original_counts.runs,
        original_counts.depth_0,
        original_counts.depth_1,
        original_counts.depth_2,
        original_counts.depth_3,
        original_counts.rounds_sum,
        original_counts.n_expands,
        original_counts.n_confirms,
        original_counts.n_circular,
        original_counts.n_divergent,
        original_counts.n_collapse
    from original_counts
    inner join sessions on original_counts.session_id = sessions.session_id

),

later as (

    select
        later_settings.session_id,
        later_settings.judge_version,
        later_settings.judge_mode,
        later_settings.glossary_id,
        later_settings.encoder,
        later_settings.judge_settings,
        false as is_original,
        later_settings.judged_at,
        later_counts.runs,
        later_counts.depth_0,
        later_counts.depth_1,
        later_counts.depth_2,
        later_counts.depth_3,
        later_counts.rounds_sum,
        later_counts.n_expands,
        later_counts.n_confirms,
        later_counts.n_circular,
        later_counts.n_divergent,
        later_counts.n_collapse
    from later_settings
    inner join later_counts
        on
            later_settings.session_id = later_counts.session_id
            and later_settings.judge_version = later_counts.judge_version

),

judgements as (

    select * from original
    union all
    select * from later

),

moments as (

    select
        judgements.*,
        {{ depth_moment_columns('judgements.runs', 'judgements.depth_') }},
        row_number() over (
            partition by judgements.session_id
            order by judgements.judged_at desc, judgements.is_original asc, judgements.judge_version desc
        ) = 1 as is_newest
    from judgements

),

final as (

    select
        ---------- ids
        moments.session_id,
        sessions.term,
        sessions.model_name,

        ---------- the judge
        moments.judge_version,
        moments.judge_mode,
        moments.glossary_id,
        glossary.reference_version,
        moments.encoder,
        moments.judge_settings,
        moments.is_original,
        moments.is_newest,
        moments.judged_at,
        sessions.stop_early,
        not moments.is_original and sessions.stop_early as depth_is_lower_bound,

        ---------- depth distribution
        moments.runs,
        moments.depth_0,
        moments.depth_1,
        moments.depth_2,
        moments.depth_3,
        {{ depth_share_columns('moments.runs', 'moments.depth_', intervals=false) }},
        moments.depth_mean,
        moments.depth_variance,
        {{ depth_mean_interval_columns('moments.depth_mean', 'moments.depth_variance', 'moments.runs',
                                       'sessions.max_rounds') }},

        ---------- echo types over all rounds
        moments.rounds_sum as rounds_total,
        moments.n_expands,
        moments.n_confirms,
        moments.n_circular,
        moments.n_divergent,
        moments.n_collapse

    from moments
    inner join sessions on moments.session_id = sessions.session_id
    left join glossary on moments.glossary_id = glossary.glossary_id

)

select * from final
