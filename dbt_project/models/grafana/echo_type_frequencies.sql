-- Rounds of each echo type per minute and term, for Grafana: the runs' echo-type counts summed
-- per minute, one row per type that occurred.

with

runs as (

    select * from {{ ref('int_probe_runs_flattened') }}

),

per_minute as (

    select
        {% for echo_type in var('echo_types') -%}
            sum(n_{{ echo_type | lower }})::integer as n_{{ echo_type | lower }},
        {% endfor %}
        date_trunc('minute', run_at) as minute_at,
        term
    from runs
    group by date_trunc('minute', run_at), term

),

final as (

    select
        per_minute.minute_at as time,
        per_minute.term,
        counts.echo_type,
        counts.rounds
    from per_minute
    cross join
        lateral unnest(
            array[
                {% for echo_type in var('echo_types') -%}
                    '{{ echo_type }}'{{ "," if not loop.last }}
                {% endfor %}
            ]::text[],
            array[
                {% for echo_type in var('echo_types') -%}
                    per_minute.n_{{ echo_type | lower }}{{ "," if not loop.last }}
                {% endfor %}
            ]::integer[]
        ) as counts (echo_type, rounds)
    where counts.rounds > 0

)

select * from final
order by time, term, echo_type
