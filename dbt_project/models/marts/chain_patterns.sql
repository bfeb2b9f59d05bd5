-- The echo-type sequences of the runs (for example EXPANDS>EXPANDS>CIRCULAR), most frequent first,
-- per term and model. Ties in rank are broken by the pattern text in byte order (collation "C").

with

sessions as (

    select * from {{ ref('stg_probe_sessions') }}

),

counts as (

    select * from {{ ref('int_session_pattern_counts') }}

),

summed as (

    select
        sessions.term,
        sessions.model_name,
        counts.echo_pattern,
        sum(counts.runs)::integer as runs
    from counts
    inner join sessions on counts.session_id = sessions.session_id
    group by sessions.term, sessions.model_name, counts.echo_pattern

),

final as (

    select
        term,
        model_name,
        echo_pattern,
        runs,
        runs::double precision / sum(runs) over (partition by term, model_name) as share,
        (
            row_number() over (
                partition by term, model_name
                order by runs desc, echo_pattern collate "C" asc
            )
        )::integer as pattern_rank
    from summed

)

select * from final
