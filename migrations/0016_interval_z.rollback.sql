-- Undo 0016_interval_z: the interval functions get 0014's signatures back, with z95 = 1.959963984540054
-- written into them (the dbt models and queries.sql of before 0016 call those).
drop function if exists stats.depth_mean_diff_ci_high(double precision, double precision, double precision, double precision);
drop function if exists stats.depth_mean_diff_ci_low(double precision, double precision, double precision, double precision);
drop function if exists stats.depth_mean_ci_high(double precision, double precision, bigint, double precision, double precision);
drop function if exists stats.depth_mean_ci_low(double precision, double precision, bigint, double precision, double precision);
drop function if exists stats.depth_mean_ci_half_width(double precision, bigint, double precision, double precision);

create or replace function stats.depth_mean_ci_half_width(
    variance double precision, n bigint, max_rounds double precision
) returns double precision
language sql immutable parallel safe
set search_path = pg_catalog
as $$
    select 1.959963984540054 * sqrt(stats.depth_variance_floored(variance, n, max_rounds) / n)
$$;

create or replace function stats.depth_mean_ci_low(
    mean double precision, variance double precision, n bigint, max_rounds double precision
) returns double precision
language sql immutable parallel safe
set search_path = pg_catalog
as $$
    select case when mean is not null and half is not null then greatest(0.0::double precision, mean - half) end
    from (select stats.depth_mean_ci_half_width(variance, n, max_rounds) as half) as width
$$;

create or replace function stats.depth_mean_ci_high(
    mean double precision, variance double precision, n bigint, max_rounds double precision
) returns double precision
language sql immutable parallel safe
set search_path = pg_catalog
as $$
    select case when mean is not null and half is not null then least(max_rounds, mean + half) end
    from (select stats.depth_mean_ci_half_width(variance, n, max_rounds) as half) as width
$$;

-- the interval of a difference mean_a - mean_b with standard error se (from floored variances)
create or replace function stats.depth_mean_diff_ci_low(
    diff double precision, se double precision, max_rounds_b double precision
) returns double precision
language sql immutable parallel safe
set search_path = pg_catalog
as $$
    select case when diff is not null and se is not null then greatest(-max_rounds_b, diff - 1.959963984540054 * se) end
$$;

create or replace function stats.depth_mean_diff_ci_high(
    diff double precision, se double precision, max_rounds_a double precision
) returns double precision
language sql immutable parallel safe
set search_path = pg_catalog
as $$
    select case when diff is not null and se is not null then least(max_rounds_a, diff + 1.959963984540054 * se) end
$$;

comment on function stats.depth_mean_ci_half_width(double precision, bigint, double precision) is
    'z95 * sqrt(depth_variance_floored / n): half-width of the 95% interval of a mean depth before '
    'clipping (--until-ci compares it with its target).';
comment on function stats.depth_mean_ci_low(double precision, double precision, bigint, double precision) is
    'Lower bound of the 95% interval of a mean depth: max(0, mean - half-width); NULL without runs.';
comment on function stats.depth_mean_ci_high(double precision, double precision, bigint, double precision) is
    'Upper bound of the 95% interval of a mean depth: min(max_rounds, mean + half-width); NULL without runs.';
comment on function stats.depth_mean_diff_ci_low(double precision, double precision, double precision) is
    'Lower bound of the 95% interval of mean_a - mean_b: max(-max_rounds_b, diff - z95 * se).';
comment on function stats.depth_mean_diff_ci_high(double precision, double precision, double precision) is
    'Upper bound of the 95% interval of mean_a - mean_b: min(max_rounds_a, diff + z95 * se).';
