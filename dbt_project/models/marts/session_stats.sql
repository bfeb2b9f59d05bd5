-- One row per session: runs stored against requested, the depth distribution with its moments and
-- a normal-approximation 95% confidence interval for the mean, echo-type frequencies over all
-- rounds, chain-length spread, throughput, and the spread of the chains in embedding space.

with

sessions as (

    select * from {{ ref('stg_probe_sessions') }}

),

runs as (

    select * from {{ ref('int_probe_runs_flattened') }}

),

semantic as (

    select * from {{ ref('stg_session_semantic_variance') }}

),

run_aggregates as (

    select
        session_id,
        count(*) as runs_stored,
        count(*) filter (where depth = 0) as depth_0,
        count(*) filter (where depth = 1) as depth_1,
        count(*) filter (where depth = 2) as depth_2,
        count(*) filter (where depth = 3) as depth_3,
        avg(depth)::double precision as depth_mean,
        percentile_cont(0.5) within group (order by depth)::double precision as depth_median,
        var_samp(depth)::double precision as depth_variance,
        stddev_samp(depth)::double precision as depth_stddev,
        sum(rounds) as rounds_total,
        sum(n_expands) as n_expands,
        sum(n_confirms) as n_confirms,
        sum(n_circular) as n_circular,
        sum(n_divergent) as n_divergent,
        sum(n_collapse) as n_collapse,
        avg(chain_length)::double precision as chain_length_mean,
        var_samp(chain_length)::double precision as chain_length_variance,
        stddev_samp(chain_length)::double precision as chain_length_stddev,
        avg(rounds)::double precision as rounds_mean,
        max(run_at) as last_run_at
    from runs
    group by session_id

),

joined as (

    select
        sessions.session_id,
        sessions.term,
        sessions.model_name,
        sessions.model_revision,
        sessions.prompt_template,
        sessions.temperature,
        sessions.top_p,
        sessions.top_k,
        sessions.max_rounds,
        sessions.max_new_tokens,
        sessions.seed,
        sessions.batch_size,
        sessions.classifier_version,
        sessions.status,
        sessions.started_at,
        sessions.finished_at,
        sessions.runs_requested,
        coalesce(agg.runs_stored, 0)::integer as runs_stored,
        coalesce(agg.depth_0, 0)::integer as depth_0,
        coalesce(agg.depth_1, 0)::integer as depth_1,
        coalesce(agg.depth_2, 0)::integer as depth_2,
        coalesce(agg.depth_3, 0)::integer as depth_3,
        agg.depth_mean,
        agg.depth_median,
        agg.depth_variance,
        agg.depth_stddev,
        coalesce(agg.rounds_total, 0)::integer as rounds_total,
        coalesce(agg.n_expands, 0)::integer as n_expands,
        coalesce(agg.n_confirms, 0)::integer as n_confirms,
        coalesce(agg.n_circular, 0)::integer as n_circular,
        coalesce(agg.n_divergent, 0)::integer as n_divergent,
        coalesce(agg.n_collapse, 0)::integer as n_collapse,
        agg.chain_length_mean,
        agg.chain_length_variance,
        agg.chain_length_stddev,
        agg.rounds_mean,
        extract(
            epoch from coalesce(sessions.finished_at, agg.last_run_at) - sessions.started_at
        )::double precision as duration_s
    from sessions
    left join run_aggregates as agg on sessions.session_id = agg.session_id

),

most_common as (

    select
        joined.session_id,
        ranked.echo_type as most_common_echo_type,
        {{ safe_ratio('ranked.n', 'joined.rounds_total') }} as most_common_echo_type_share
    from joined
    cross join lateral (
        select
            candidates.echo_type,
            candidates.n
        from (
            values
            (1, 'EXPANDS', joined.n_expands),
            (2, 'CONFIRMS', joined.n_confirms),
            (3, 'CIRCULAR', joined.n_circular),
            (4, 'DIVERGENT', joined.n_divergent),
            (5, 'COLLAPSE', joined.n_collapse)
        ) as candidates (type_order, echo_type, n)
        where joined.rounds_total > 0
        order by candidates.n desc, candidates.type_order asc
        limit 1
    ) as ranked

),

final as (

    select
        joined.session_id,
        joined.term,
        joined.model_name,
        joined.model_revision,
        joined.prompt_template,
        joined.temperature,
        joined.top_p,
        joined.top_k,
        joined.max_rounds,
        joined.max_new_tokens,
        joined.seed,
        joined.batch_size,
        joined.classifier_version,
        joined.status,
        joined.started_at,
        joined.finished_at,
        joined.runs_requested,
        joined.runs_stored,
        joined.runs_stored = joined.runs_requested as is_complete,
        joined.depth_0,
        joined.depth_1,
        joined.depth_2,
        joined.depth_3,
        {{ safe_ratio('joined.depth_0', 'joined.runs_stored') }} as share_depth_0,
        {{ safe_ratio('joined.depth_1', 'joined.runs_stored') }} as share_depth_1,
        {{ safe_ratio('joined.depth_2', 'joined.runs_stored') }} as share_depth_2,
        {{ safe_ratio('joined.depth_3', 'joined.runs_stored') }} as share_depth_3,
        joined.depth_mean,
        joined.depth_median,
        joined.depth_variance,
        joined.depth_stddev,
        joined.depth_mean - 1.96 * joined.depth_stddev / sqrt(joined.runs_stored) as depth_ci95_low,
        joined.depth_mean + 1.96 * joined.depth_stddev / sqrt(joined.runs_stored) as depth_ci95_high,
        joined.rounds_total,
        joined.n_expands,
        joined.n_confirms,
        joined.n_circular,
        joined.n_divergent,
        joined.n_collapse,
        {{ safe_ratio('joined.n_expands', 'joined.rounds_total') }} as share_expands,
        {{ safe_ratio('joined.n_confirms', 'joined.rounds_total') }} as share_confirms,
        {{ safe_ratio('joined.n_circular', 'joined.rounds_total') }} as share_circular,
        {{ safe_ratio('joined.n_divergent', 'joined.rounds_total') }} as share_divergent,
        {{ safe_ratio('joined.n_collapse', 'joined.rounds_total') }} as share_collapse,
        most_common.most_common_echo_type,
        most_common.most_common_echo_type_share,
        joined.chain_length_mean,
        joined.chain_length_variance,
        joined.chain_length_stddev,
        joined.rounds_mean,
        joined.duration_s,
        {{ safe_ratio('joined.runs_stored', 'joined.duration_s') }} as runs_per_second,
        semantic.semantic_chains,
        semantic.semantic_centroid_distance,
        semantic.semantic_pairwise_distance
    from joined
    left join most_common on joined.session_id = most_common.session_id
    left join semantic on joined.session_id = semantic.session_id

)

select * from final
