-- depends: 0001_raw_schema 0002_messages 0003_semantic_variance
-- Least privilege. Group roles (NOLOGIN); an administrator creates login roles IN ROLE one of them:
--   nyx_collector  the collector: reads and inserts into raw (and updates a session's status),
--                  reads and writes messages; no DDL anywhere.
--   nyx_analyst    Grafana and psql users: reads what dbt builds (staging, intermediate, marts,
--                  grafana) and nothing in raw.
-- dbt and the migrations run as the database owner. Roles are cluster-wide, so they are created
-- only if missing; the grants below are per database.

do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'nyx_collector') then
        create role nyx_collector nologin;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'nyx_analyst') then
        create role nyx_analyst nologin;
    end if;
end
$$;

-- nobody but the owner creates objects in public (PostgreSQL 15+ default; explicit for 14 and older clusters)
revoke create on schema public from public;

-- the collector ------------------------------------------------------------------------------
grant usage on schema raw to nyx_collector;
grant select, insert on raw.probe_sessions, raw.variance_probe_runs, raw.probe_rounds to nyx_collector;
grant update (status, finished_at, error, hostname, pid) on raw.probe_sessions to nyx_collector;
grant select, insert, update on raw.session_semantic_variance to nyx_collector;
grant select, insert on public.partnership_to_nimmerverse_messages, public.nimmerverse_to_partnership_messages
    to nyx_collector;
grant usage on sequence public.partnership_to_nimmerverse_messages_id_seq,
    public.nimmerverse_to_partnership_messages_id_seq to nyx_collector;
-- the collector checks for pending migrations before collecting (yoyo's bookkeeping tables)
grant select on public._yoyo_migration, public._yoyo_version, public._yoyo_log to nyx_collector;
grant select, insert, delete on public.yoyo_lock to nyx_collector;

-- the analyst --------------------------------------------------------------------------------
create schema if not exists staging;
create schema if not exists intermediate;
create schema if not exists marts;
create schema if not exists grafana;
grant usage on schema staging, intermediate, marts, grafana to nyx_analyst;
grant select on all tables in schema staging, intermediate, marts, grafana to nyx_analyst;
-- tables and views dbt creates later (as the owner, who runs this migration) are readable too
alter default privileges in schema staging, intermediate, marts, grafana grant select on tables to nyx_analyst;
revoke all on schema raw from nyx_analyst;
