with

source as (

    select * from {{ source('raw', 'round_labels') }}

),

renamed as (

    select
        session_id,
        run_number,
        round::integer as round_number,

        labeller,
        label,
        note,

        labelled_at

    from source

)

select * from renamed
