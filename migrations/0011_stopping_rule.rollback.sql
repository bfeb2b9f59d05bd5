-- Undo 0011_stopping_rule: runs_requested is fixed again without exception, the columns go.
revoke update (runs_requested, stopped_reason) on raw.probe_sessions from nyx_collector;

create or replace function raw.check_runs_requested_fixed() returns trigger
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

alter table raw.probe_sessions
    drop constraint if exists sessions_stopped_reason_known,
    drop constraint if exists sessions_stopping_rule_parameters,
    drop constraint if exists sessions_stopping_rule_known,
    drop column if exists stopped_reason,
    drop column if exists min_runs,
    drop column if exists target_ci_half_width,
    drop column if exists stopping_rule;
