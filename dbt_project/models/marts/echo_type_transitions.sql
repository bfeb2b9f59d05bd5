-- The probability of each echo type given the previous round's type, per pool (a term's sessions
-- under one settings key, int_session_settings), from consecutive rounds within a run. Only
-- continuing types (EXPANDS, CONFIRMS) are ever followed by another round, so only they appear as
-- from_echo_type.

with

sessions as (

    select * from {{ ref('int_session_settings') }}

),

counts as (

    select * from {{ ref('int_session_transition_counts') }}

),

summed as (

    {{ summed_per_pool(['from_echo_type', 'to_echo_type'], 'transitions') }}

),

final as (

    select
        term,
        model_name,
        pool_key,
        settings_key,
        settings,
        from_echo_type,
        to_echo_type,
        transitions,
        {{ safe_ratio('transitions', 'sum(transitions) over (partition by pool_key, from_echo_type)') }}
            as probability
    from summed

)

select * from final
