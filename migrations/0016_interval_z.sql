-- depends: 0015_judge_version
-- The interval functions of 0014 take the normal quantile z as an argument instead of holding their
-- own copy of it (1.959963984540054). One value, the dbt var z95 in dbt_project.yml, now reaches every
-- 95% interval: the marts pass var('z95'), and the collector (queries.sql depth_precision, for
-- `--until-ci`) passes the same var, read from dbt_project.yml. The formulas are those of 0014 with
-- z for 1.959963984540054, so z = 1.959963984540054 gives the values of before.
-- The old signatures are dropped, not kept beside the new ones: nothing can call a second copy of z.
-- stats.depth_variance_floored has no z and stays as 0014 made it.

drop function stats.depth_mean_diff_ci_high(double precision, double precision, double precision);
drop function stats.depth_mean_diff_ci_low(double precision, double precision, double precision);
drop function stats.depth_mean_ci_high(double precision, double precision, bigint, double precision);
drop function stats.depth_mean_ci_low(double precision, double precision, bigint, double precision);
drop function stats.depth_mean_ci_half_width(double precision, bigint, double precision);

create function stats.depth_mean_ci_half_width(
    variance double precision, n bigint, max_rounds double precision, z double precision
) returns double precision
language sql immutable parallel safe
set search_path = pg_catalog
as $$
    select z * sqrt(stats.depth_variance_floored(variance, n, max_rounds) / n)
$$;

create function stats.depth_mean_ci_low(
    mean double precision, variance double precision, n bigint, max_rounds double precision, z double precision
) returns double precision
language sql immutable parallel safe
set search_path = pg_catalog
as $$
    select case when mean is not null and half is not null then greatest(0.0::double precision, mean - half) end
    from (select stats.depth_mean_ci_half_width(variance, n, max_rounds, z) as half) as width
$$;

create function stats.depth_mean_ci_high(
    mean double precision, variance double precision, n bigint, max_rounds double precision, z double precision
) returns double precision
language sql immutable parallel safe
set search_path = pg_catalog
as $$
    select case when mean is not null and half is not null then least(max_rounds, mean + half) end
    from (select stats.depth_mean_ci_half_width(variance, n, max_rounds, z) as half) as width
$$;

-- the interval of a difference mean_a - mean_b with standard error se (from floored variances)
create function stats.depth_mean_diff_ci_low(
    diff double precision, se double precision, max_rounds_b double precision, z double precision
) returns double precision
language sql immutable parallel safe
set search_path = pg_catalog
as $$
    select case when diff is not null and se is not null then greatest(-max_rounds_b, diff - z * se) end
$$;

create function stats.depth_mean_diff_ci_high(
    diff double precision, se double precision, max_rounds_a double precision, z double precision
) returns double precision
language sql immutable parallel safe
set search_path = pg_catalog
as $$
    select case when diff is not null and se is not null then least(max_rounds_a, diff + z * se) end
$$;

comment on function stats.depth_mean_ci_half_width(double precision, bigint, double precision, double precision) is
    'z * sqrt(depth_variance_floored / n): half-width of the interval of a mean depth before clipping, '
    'z the normal quantile (dbt var z95 for 95%; --until-ci compares it with its target).';
comment on function stats.depth_mean_ci_low(double precision, double precision, bigint, double precision,
                                            double precision) is
    'Lower bound of the interval of a mean depth: max(0, mean - half-width at z); NULL without runs.';
comment on function stats.depth_mean_ci_high(double precision, double precision, bigint, double precision,
                                             double precision) is
    'Upper bound of the interval of a mean depth: min(max_rounds, mean + half-width at z); NULL without runs.';
comment on function stats.depth_mean_diff_ci_low(double precision, double precision, double precision,
                                                 double precision) is
    'Lower bound of the interval of mean_a - mean_b: max(-max_rounds_b, diff - z * se).';
comment on function stats.depth_mean_diff_ci_high(double precision, double precision, double precision,
                                                  double precision) is
    'Upper bound of the interval of mean_a - mean_b: min(max_rounds_a, diff + z * se).';
