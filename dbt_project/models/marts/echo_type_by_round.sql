-- How often each echo type occurs at each round, per pool (a term's sessions under one settings
-- key, int_session_settings). share is the fraction of the rounds at that round number (so the
-- types of one round sum to 1).

with

sessions as (

    select * from {{ ref('int_session_settings') }}

),

counts as (

    select * from {{ ref('int_session_echo_type_counts') }}

),

summed as (

    {{ summed_per_pool(['round_number', 'echo_type'], 'rounds') }}

),

final as (

    select
        term,
        model_name,
        pool_key,
        settings_key,
        settings,
        round_number,
        echo_type,
        rounds,
        {{ safe_ratio('rounds', 'sum(rounds) over (partition by pool_key, round_number)') }} as share
    from summed

)

select * from final
