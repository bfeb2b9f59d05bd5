-- The echo-type sequences of the runs (for example EXPANDS>EXPANDS>CIRCULAR), most frequent first,
-- per pool (a term's sessions under one settings key, int_session_settings). Ties in rank are
-- broken by the pattern text in byte order (collation "C").

with

sessions as (

    select * from {{ ref('int_session_settings') }}

),

counts as (

    select * from {{ ref('int_session_pattern_counts') }}

),

summed as (

    {{ summed_per_pool(['echo_pattern'], 'runs') }}

),

final as (

    select
        term,
        model_name,
        pool_key,
        settings_key,
        settings,
        echo_pattern,
        runs,
        {{ safe_ratio('runs', 'sum(runs) over (partition by pool_key)') }} as share,
        (
            row_number() over (
                partition by pool_key
                order by runs desc, echo_pattern collate "C" asc
            )
        )::integer as pattern_rank
    from summed

)

select * from final
