with

source as (

    select * from {{ source('raw', 'glossary') }}

),

renamed as (

    select
        ---------- ids
        id as glossary_id,

        ---------- text
        term,
        language,
        reference,
        reference_de,
        source,
        added_by,

        ---------- numerics
        version as reference_version,

        ---------- booleans
        version = max(version) over (partition by term) as is_current,

        ---------- timestamps
        added_at

    from source

)

select * from renamed
