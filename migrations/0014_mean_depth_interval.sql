-- depends: 0013_judge_settings
-- The one definition of the 95% interval of a mean depth (docs/statistics.md, "Intervals"), used by
-- the marts (dbt), by `nyx-collect stats` and `analyze` (which read the marts) and by
-- `nyx-collect TERM --until-ci` (queries.sql depth_precision) alike. It lives here, not in dbt's
-- on-run-start hook with the tail functions, because the collector needs it on a database that dbt
-- has never built, and without dbt installed.
--
-- A depth lies in [0, max_rounds]. The interval is the normal one with the sample variance floored:
--   floored variance  F(s^2, n, M) = max(s^2, M^2 * min(3 / n, 1/4))
--   half-width        h = z95 * sqrt(F / n), z95 = 1.959963984540054 (the dbt var z95)
--   interval          [max(0, mean - h), min(M, mean + h)]
-- M^2 * 3 / n is the rule of three: a sample whose n runs all have one depth still leaves up to 3/n
-- of runs elsewhere (95%), at most M away; M^2 / 4 is the largest variance any distribution on
-- [0, M] has (Popoviciu), so the floor never asks for more (it does below 12 runs at M = 3). So no
-- sample gives a zero-width interval, one run gives a wide but finite one, and no bound leaves
-- [0, M]. The difference of two means (Welch) floors each side's variance the same way, and its
-- interval stays in [-M_b, M_a].
-- Plain SQL arithmetic; immutable, so the planner may fold calls on constants.

create schema if not exists stats;
grant usage on schema stats to nyx_collector, nyx_analyst;

create or replace function stats.depth_variance_floored(
    variance double precision, n bigint, max_rounds double precision
) returns double precision
language sql immutable parallel safe
set search_path = pg_catalog
as $$
    select case
        when n >= 1 and max_rounds > 0
            then greatest(variance, max_rounds * max_rounds * least(3.0::double precision / n, 0.25))
    end
$$;

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

comment on function stats.depth_variance_floored(double precision, bigint, double precision) is
    'max(s^2, max_rounds^2 * min(3/n, 1/4)): a depth variance floored at the rule of three, capped at the '
    'largest variance on [0, max_rounds]; NULL below 1 run.';
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
