-- Undo 0001_raw_schema: drop the raw tables and the schema. Without CASCADE, so that this fails
-- (and changes nothing) while dbt models or other objects still depend on the raw layer.

drop table raw.probe_rounds;
drop table raw.variance_probe_runs;
drop table raw.probe_sessions;
drop schema raw;
