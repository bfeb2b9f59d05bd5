-- One row per term and model over all its sessions: the depth histogram, its shares, moments and
-- Shannon entropy (bits; 0 = every run the same depth, 2 = uniform over the four depths).

with

runs as (

    select * from {{ ref('int_probe_runs_flattened') }}

),

counted as (

    select
        term,
        model_name,
        count(distinct session_id)::integer as sessions,
        count(*)::integer as runs,
        (count(*) filter (where depth = 0))::integer as depth_0,
        (count(*) filter (where depth = 1))::integer as depth_1,
        (count(*) filter (where depth = 2))::integer as depth_2,
        (count(*) filter (where depth = 3))::integer as depth_3,
        avg(depth)::double precision as depth_mean,
        var_samp(depth)::double precision as depth_variance,
        stddev_samp(depth)::double precision as depth_stddev,
        min(run_at) as first_run_at,
        max(run_at) as last_run_at
    from runs
    group by term, model_name

),

shares as (

    select
        counted.*,
        {{ safe_ratio('depth_0', 'runs') }} as share_depth_0,
        {{ safe_ratio('depth_1', 'runs') }} as share_depth_1,
        {{ safe_ratio('depth_2', 'runs') }} as share_depth_2,
        {{ safe_ratio('depth_3', 'runs') }} as share_depth_3
    from counted

),

final as (

    select
        term,
        model_name,
        sessions,
        runs,
        depth_0,
        depth_1,
        depth_2,
        depth_3,
        share_depth_0,
        share_depth_1,
        share_depth_2,
        share_depth_3,
        depth_mean,
        depth_variance,
        depth_stddev,
        -(
            {{ plogp('share_depth_0') }} + {{ plogp('share_depth_1') }}
            + {{ plogp('share_depth_2') }} + {{ plogp('share_depth_3') }}
        ) as depth_entropy_bits,
        first_run_at,
        last_run_at
    from shares

)

select * from final
