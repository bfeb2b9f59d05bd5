-- The echo-type sequences of the runs (for example EXPANDS>EXPANDS>CIRCULAR), most frequent first,
-- per term and model.

with

runs as (

    select * from {{ ref('int_probe_runs_flattened') }}

),

counted as (

    select
        term,
        model_name,
        echo_pattern,
        count(*)::integer as runs
    from runs
    group by term, model_name, echo_pattern

),

final as (

    select
        term,
        model_name,
        echo_pattern,
        runs,
        runs::double precision / sum(runs) over (partition by term, model_name) as share,
        (row_number() over (partition by term, model_name order by runs desc, echo_pattern asc))::integer
            as pattern_rank
    from counted

)

select * from final
