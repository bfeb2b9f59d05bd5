-- depends: 0001_raw_schema
-- How spread a session's chains are in the probe model's embedding space, written by the collector
-- at the end of a session (the embeddings themselves live in iris, ChromaDB). dbt joins it into
-- the session statistics.

create table raw.session_semantic_variance (
    session_id uuid not null,
    model_name text not null,
    chains integer not null,
    dimensions integer not null,
    mean_centroid_distance double precision not null,
    mean_pairwise_cosine_distance double precision,
    computed_at timestamptz not null default now(),
    constraint session_semantic_variance_pkey primary key (session_id),
    constraint semantic_variance_session_fkey foreign key (session_id)
        references raw.probe_sessions (session_id) on delete cascade,
    constraint semantic_variance_chains_positive check (chains > 0),
    constraint semantic_variance_dimensions_positive check (dimensions > 0),
    constraint semantic_variance_centroid_range check (mean_centroid_distance between 0 and 2.0001),
    constraint semantic_variance_pairwise_range check (mean_pairwise_cosine_distance between 0 and 2.0001),
    constraint semantic_variance_pairwise_needs_two check ((chains >= 2) = (mean_pairwise_cosine_distance is not null))
);

comment on table raw.session_semantic_variance is
    'Per session: the spread of its chain embeddings (cosine distance to the centroid, mean pairwise cosine distance).';
comment on column raw.session_semantic_variance.mean_centroid_distance is
    'Mean cosine distance (1 - cosine) of the unit chain embeddings to their normalised centroid.';
comment on column raw.session_semantic_variance.mean_pairwise_cosine_distance is
    'Mean cosine distance over all pairs of distinct chains (NULL for a single chain).';
comment on column raw.session_semantic_variance.session_id is 'The session whose chains were embedded.';
comment on column raw.session_semantic_variance.model_name is 'Model whose hidden states embedded the chains.';
comment on column raw.session_semantic_variance.chains is 'Chains embedded (runs stored in iris).';
comment on column raw.session_semantic_variance.dimensions is 'Dimensions of one chain embedding.';
comment on column raw.session_semantic_variance.computed_at is 'When the spread was computed.';
