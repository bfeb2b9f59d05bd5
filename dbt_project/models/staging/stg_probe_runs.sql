with

source as (

    select * from {{ source('raw', 'variance_probe_runs') }}

),

renamed as (

    select
        ---------- ids
        id as run_id,
        session_id,
        run_number,

        ---------- text
        term,
        model_name,
        echo_types,
        chain,
        echo_types[rounds] as last_echo_type,
        array_to_string(echo_types, '>') as echo_pattern,

        ---------- numerics
        depth::integer as depth,
        rounds::integer as rounds,
        cardinality(chain) as chain_length,
        temperature,
        max_rounds::integer as max_rounds,
        max_new_tokens,
        seed,
        {% for echo_type in var('echo_types') -%}
            cardinality(array_positions(echo_types, '{{ echo_type }}')) as n_{{ echo_type | lower }},
        {% endfor %}
        ---------- booleans
        depth = max_rounds as reached_max_depth,

        ---------- timestamps
        timestamp as run_at

    from source

)

select * from renamed
