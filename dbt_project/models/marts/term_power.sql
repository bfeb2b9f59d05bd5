-- One row per pool (term, settings key, reference meaning) and difference in mean depth (the grid
-- var('power_differences')):
-- how many runs per term a two-sided test at alpha 0.05 needs to detect that difference with 80%
-- power, from the term's observed depth variance (normal approximation of the two-sample test,
-- equal runs per term, the other term assumed to have the same variance):
--   n = ceil((z_0.975 + z_0.80)^2 * 2 * variance / difference^2).
-- n is linear in the variance, so for a pair of terms with variances a and b the runs per term are
-- ceil of the mean of their runs_needed_exact. NULL where the variance is unknown (fewer than 2
-- runs) or 0 (nothing to size from).

with

distributions as (

    select * from {{ ref('term_depth_distribution') }}

),

differences as (

    select unnest(array[{{ var('power_differences') | join(', ') }}]::double precision[]) as difference

),

sized as (

    select
        distributions.term,
        distributions.pool_key,
        distributions.settings_key,
        distributions.settings,
        distributions.model_name,
        distributions.runs,
        distributions.depth_mean,
        distributions.depth_variance,
        differences.difference,
        0.05::double precision as alpha,
        0.8::double precision as power,
        case
            when distributions.depth_variance > 0
                then
                    ({{ var('z95') }} + {{ var('z80') }}) ^ 2 * 2 * distributions.depth_variance
                    / differences.difference ^ 2
        end as runs_needed_exact,
        case
            when distributions.depth_variance > 0
                then
                    ({{ var('z95') }} + {{ var('z80') }})
                    * sqrt(2 * distributions.depth_variance / nullif(distributions.runs, 0))
        end as detectable_difference
    from distributions
    cross join differences

),

final as (

    select
        sized.term,
        sized.pool_key,
        sized.settings_key,
        sized.settings,
        sized.model_name,
        sized.runs,
        sized.depth_mean,
        sized.depth_variance,
        sized.difference,
        sized.alpha,
        sized.power,
        sized.runs_needed_exact,
        ceil(sized.runs_needed_exact)::integer as runs_needed,
        -- greatest() skips NULLs: no variance, no runs to go either
        case
            when sized.runs_needed_exact is not null
                then greatest(ceil(sized.runs_needed_exact)::integer - sized.runs, 0)
        end as runs_to_go,
        sized.detectable_difference
    from sized

)

select * from final
