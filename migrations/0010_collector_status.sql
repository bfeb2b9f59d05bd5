-- depends: 0009_integrity
-- What a collector may do to a session, enforced in the database. 0004 lets nyx_collector update a
-- session's status, finish time, error, host and pid, but any status of any session, completed ones
-- included. From here every role that does not own the raw tables (nyx_collector and its members)
-- may only:
--   insert a session as 'running';
--   move a 'running' session to 'completed', 'failed' or 'interrupted', or keep it 'running' (a
--     resume of a stale session takes it over: new host and pid);
--   move a 'failed' or 'interrupted' session back to 'running' (nyx-collect resume);
-- and never change a 'completed' session, nor add runs or rounds to one, nor write its semantic
-- variance (written before the session completes, as collecting and resuming do). The owner of the tables
-- (who runs the migrations and dbt) and superusers may still repair rows by hand.
-- The functions name everything with its schema and fix their search_path, so a role cannot
-- redirect them with objects of its own (a temporary table named pg_class, say).

create function raw.owns_table(relation oid) returns boolean
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select pg_catalog.pg_has_role(current_user, c.relowner, 'USAGE')
    from pg_catalog.pg_class as c
    where c.oid = relation
$$;

comment on function raw.owns_table(oid) is
    'Whether the current role has the privileges of the owner of a table (superusers always do).';

create function raw.check_session_status() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if raw.owns_table(tg_relid) then
        return new;
    end if;
    if tg_op = 'INSERT' then
        if new.status is distinct from 'running' then
            raise exception 'a new session is running, not %', coalesce(new.status, 'NULL')
                using errcode = 'insufficient_privilege';
        end if;
        return new;
    end if;
    if old.status = 'completed' then
        raise exception 'session % is completed: it cannot be changed', old.session_id
            using errcode = 'insufficient_privilege';
    end if;
    if not ((old.status = 'running' and new.status in ('running', 'completed', 'failed', 'interrupted'))
            or (old.status in ('failed', 'interrupted') and new.status = 'running')) then
        raise exception 'session % cannot go from % to %', old.session_id, old.status, new.status
            using errcode = 'insufficient_privilege';
    end if;
    return new;
end
$$;

comment on function raw.check_session_status() is
    'The session transitions a collector may make (see migration 0010_collector_status).';

create trigger probe_sessions_status_transitions
before insert or update on raw.probe_sessions
for each row execute function raw.check_session_status();

create function raw.check_not_into_completed() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    closed uuid;
begin
    if raw.owns_table(tg_relid) then
        return null;
    end if;
    select s.session_id into closed
    from raw.probe_sessions as s
    where s.status = 'completed' and s.session_id in (select n.session_id from added as n)
    limit 1;
    if found then
        raise exception 'session % is completed: no runs or rounds can be added to it', closed
            using errcode = 'insufficient_privilege';
    end if;
    return null;
end
$$;

comment on function raw.check_not_into_completed() is
    'Refuses runs and rounds of completed sessions from a collector (one check per statement, COPY included).';

create trigger variance_probe_runs_not_into_completed
after insert on raw.variance_probe_runs
referencing new table as added
for each statement execute function raw.check_not_into_completed();

create trigger probe_rounds_not_into_completed
after insert on raw.probe_rounds
referencing new table as added
for each statement execute function raw.check_not_into_completed();

create function raw.check_spread_not_of_completed() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if raw.owns_table(tg_relid) then
        return new;
    end if;
    if exists (select 1 from raw.probe_sessions as s
               where s.status = 'completed' and s.session_id in (new.session_id, old.session_id)) then
        raise exception 'session % is completed: its semantic variance cannot be written', new.session_id
            using errcode = 'insufficient_privilege';
    end if;
    return new;
end
$$;

comment on function raw.check_spread_not_of_completed() is
    'Refuses a collector''s semantic variance of a completed session (the collector writes it before completing).';

create trigger session_semantic_variance_not_of_completed
before insert or update on raw.session_semantic_variance
for each row execute function raw.check_spread_not_of_completed();
