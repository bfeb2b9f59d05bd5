-- Undo 0014_mean_depth_interval: the interval functions of a mean depth go. Schema stats stays: the
-- tail functions dbt's on-run-start hook creates live there too.
drop function if exists stats.depth_mean_diff_ci_high(double precision, double precision, double precision);
drop function if exists stats.depth_mean_diff_ci_low(double precision, double precision, double precision);
drop function if exists stats.depth_mean_ci_high(double precision, double precision, bigint, double precision);
drop function if exists stats.depth_mean_ci_low(double precision, double precision, bigint, double precision);
drop function if exists stats.depth_mean_ci_half_width(double precision, bigint, double precision);
drop function if exists stats.depth_variance_floored(double precision, bigint, double precision);
revoke usage on schema stats from nyx_collector;
