-- depends: 0008_labels
-- Two invariants that a CHECK constraint cannot state, because they span tables:
--
-- * a run's number lies in 1..runs_requested of its session (a replayed journal line once stored
--   run 121 of a 120-run session), and runs_requested never changes once runs refer to it;
-- * a run has its rounds: exactly the rounds 1..rounds, no more, no fewer. The collector writes a
--   batch of runs and then their rounds by COPY in one transaction, so this is checked when the
--   transaction commits (a deferred constraint trigger); a round beyond its run's rounds, deleting
--   a round of a run that stays, and moving a round to another run are refused at once.
--
-- Every refusal is a check_violation naming its constraint (as the CHECK constraints do), with
-- the run in its detail. The checks read indexed rows only (the run's rounds through
-- probe_rounds_pkey, a session through probe_sessions_pkey). Rows stored before this migration
-- are not re-checked; this lists any that break either rule:
--   select r.session_id, r.run_number from raw.variance_probe_runs as r
--   join raw.probe_sessions as s using (session_id)
--   left join raw.probe_rounds as p using (session_id, run_number)
--   group by r.session_id, r.run_number, r.rounds, s.runs_requested
--   having r.run_number > s.runs_requested or count(p.round) <> r.rounds or max(p.round) <> r.rounds;

-- ---------------------------------------------------------------------------------------------
-- run numbers within 1..runs_requested (run_number >= 1 is the CHECK runs_run_number_positive)
-- ---------------------------------------------------------------------------------------------
create function raw.check_runs_within_requested() returns trigger
language plpgsql
set search_path = pg_catalog
as $$
declare
    bad record;
begin
    select n.session_id, n.top, s.runs_requested into bad
    from (select session_id, max(run_number) as top from new_runs group by session_id) as n
    join raw.probe_sessions as s on s.session_id = n.session_id
    where n.top > s.runs_requested
    limit 1;
    if found then
        raise exception 'run number % is beyond the % runs session % requested', bad.top, bad.runs_requested,
            bad.session_id
            using errcode = 'check_violation', schema = 'raw', table = 'variance_probe_runs',
                  column = 'run_number', constraint = 'runs_run_number_within_requested',
                  detail = format('run %s of session %s, which requested %s runs', bad.top, bad.session_id,
                                  bad.runs_requested);
    end if;
    return null;
end
$$;

comment on function raw.check_runs_within_requested() is
    'Refuses runs whose run_number exceeds their session''s runs_requested (constraint runs_run_number_within_requested).';

-- transition tables take one event per trigger
create trigger runs_run_number_within_requested_insert
after insert on raw.variance_probe_runs
referencing new table as new_runs
for each statement execute function raw.check_runs_within_requested();

create trigger runs_run_number_within_requested_update
after update on raw.variance_probe_runs
referencing new table as new_runs
for each statement execute function raw.check_runs_within_requested();

create function raw.check_runs_requested_fixed() returns trigger
language plpgsql
set search_path = pg_catalog
as $$
begin
    if new.runs_requested is distinct from old.runs_requested then
        raise exception 'runs_requested of session % is fixed when the session is created', old.session_id
            using errcode = 'check_violation', schema = 'raw', table = 'probe_sessions',
                  column = 'runs_requested', constraint = 'sessions_runs_requested_fixed',
                  detail = format('session %s requested %s runs; refused: %s', old.session_id,
                                  old.runs_requested, new.runs_requested);
    end if;
    return new;
end
$$;

comment on function raw.check_runs_requested_fixed() is
    'Refuses a change of a session''s runs_requested (constraint sessions_runs_requested_fixed).';

create trigger sessions_runs_requested_fixed
before update of runs_requested on raw.probe_sessions
for each row execute function raw.check_runs_requested_fixed();

-- ---------------------------------------------------------------------------------------------
-- a run has exactly its rounds 1..rounds, at commit
-- ---------------------------------------------------------------------------------------------
create function raw.check_run_has_its_rounds() returns trigger
language plpgsql
set search_path = pg_catalog
as $$
declare
    run record;
begin
    -- the row as it is now (the event may be for a version since updated or deleted), and its rounds
    select r.session_id, r.run_number, r.rounds, p.n, p.top into run
    from raw.variance_probe_runs as r
    cross join lateral (
        select count(*) as n, max(q.round) as top
        from raw.probe_rounds as q
        where q.session_id = r.session_id and q.run_number = r.run_number
    ) as p
    where r.id = new.id;
    if not found then
        return null;
    end if;
    -- round numbers are distinct and at least 1, so count = max = rounds means exactly 1..rounds
    if run.n <> run.rounds or run.top is distinct from run.rounds::integer then
        raise exception 'run % of session % has % of its % rounds', run.run_number, run.session_id, run.n,
            run.rounds
            using errcode = 'check_violation', schema = 'raw', table = 'variance_probe_runs',
                  constraint = 'runs_have_their_rounds',
                  detail = format('run %s of session %s: %s round row(s) stored, the run has %s rounds',
                                  run.run_number, run.session_id, run.n, run.rounds);
    end if;
    return null;
end
$$;

comment on function raw.check_run_has_its_rounds() is
    'At commit: a run has exactly the round rows 1..rounds in raw.probe_rounds (constraint runs_have_their_rounds).';

create constraint trigger runs_have_their_rounds
after insert or update of session_id, run_number, rounds on raw.variance_probe_runs
deferrable initially deferred
for each row execute function raw.check_run_has_its_rounds();

create function raw.check_rounds_within_run() returns trigger
language plpgsql
set search_path = pg_catalog
as $$
declare
    bad record;
begin
    -- EXECUTE: planned for this statement's rows and the table's current size, never a cached plan
    execute 'select n.session_id, n.run_number, n.round, r.rounds
             from new_rounds as n
             join raw.variance_probe_runs as r on r.session_id = n.session_id and r.run_number = n.run_number
             where n.round > r.rounds
             limit 1' into bad;
    if bad.session_id is not null then
        raise exception 'round % of run % of session % is beyond the run''s % rounds', bad.round, bad.run_number,
            bad.session_id, bad.rounds
            using errcode = 'check_violation', schema = 'raw', table = 'probe_rounds',
                  column = 'round', constraint = 'rounds_within_their_run',
                  detail = format('run %s of session %s has %s rounds; refused: round %s', bad.run_number,
                                  bad.session_id, bad.rounds, bad.round);
    end if;
    return null;
end
$$;

comment on function raw.check_rounds_within_run() is
    'Refuses a round numbered beyond its run''s rounds (constraint rounds_within_their_run).';

create trigger rounds_within_their_run
after insert on raw.probe_rounds
referencing new table as new_rounds
for each statement execute function raw.check_rounds_within_run();

create function raw.check_rounds_stay_with_their_run() returns trigger
language plpgsql
set search_path = pg_catalog
as $$
begin
    if tg_op = 'UPDATE' and (new.session_id, new.run_number, new.round)
            is not distinct from (old.session_id, old.run_number, old.round) then
        return new;
    end if;
    -- a delete cascaded from the run finds the run gone already
    if exists (
        select 1 from raw.variance_probe_runs as r
        where r.session_id = old.session_id and r.run_number = old.run_number
    ) then
        raise exception 'round % of run % of session % cannot be % while its run stays', old.round,
            old.run_number, old.session_id, case tg_op when 'DELETE' then 'deleted' else 'moved' end
            using errcode = 'check_violation', schema = 'raw', table = 'probe_rounds',
                  constraint = 'rounds_stay_with_their_run',
                  detail = format('run %s of session %s: delete the run, and its rounds go with it',
                                  old.run_number, old.session_id);
    end if;
    return case tg_op when 'DELETE' then old else new end;
end
$$;

comment on function raw.check_rounds_stay_with_their_run() is
    'Refuses deleting or re-keying a round of a run that stays (constraint rounds_stay_with_their_run).';

create trigger rounds_stay_with_their_run
before delete or update of session_id, run_number, round on raw.probe_rounds
for each row execute function raw.check_rounds_stay_with_their_run();

create function raw.check_rounds_not_truncated_alone() returns trigger
language plpgsql
set search_path = pg_catalog
as $$
begin
    if exists (select 1 from raw.variance_probe_runs) then
        raise exception 'raw.probe_rounds cannot be truncated while raw.variance_probe_runs holds runs'
            using errcode = 'check_violation', schema = 'raw', table = 'probe_rounds',
                  constraint = 'rounds_stay_with_their_run',
                  detail = 'truncate both tables together';
    end if;
    return null;
end
$$;

create trigger rounds_not_truncated_alone
after truncate on raw.probe_rounds
for each statement execute function raw.check_rounds_not_truncated_alone();
