with

source as (

    select * from {{ source('raw', 'session_semantic_variance') }}

),

renamed as (

    select
        ---------- ids
        session_id,

        ---------- text
        model_name,

        ---------- numerics
        chains as semantic_chains,
        dimensions as embedding_dimensions,
        mean_centroid_distance as semantic_centroid_distance,
        mean_pairwise_cosine_distance as semantic_pairwise_distance,

        ---------- timestamps
        computed_at as semantic_computed_at

    from source

)

select * from renamed
