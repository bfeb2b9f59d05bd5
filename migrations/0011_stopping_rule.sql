-- depends: 0010_collector_status
-- How a session decides when to stop, and why it stopped (nyx-collect TERM --until-ci H):
--   stopping_rule 'fixed'     runs_requested runs (every session before this migration);
--                 'until_ci'  batches until the 95% interval of the mean depth has half-width
--                             <= target_ci_half_width, after at least min_runs runs, or until
--                             runs_requested runs (the cap);
--   stopped_reason 'precision' (the target was met) or 'max_runs' (the cap was reached), set when
--                 an until_ci session completes; NULL otherwise.
-- A session that stops on precision completes with runs_requested = the runs it stored, in the
-- same statement that marks it completed, so "a completed session holds exactly runs
-- 1..runs_requested" stays true. 0009 fixed runs_requested for good; from here that one change is
-- allowed, and only it: a running until_ci session going to completed for precision, to fewer runs,
-- holding exactly the runs 1..the new runs_requested.

alter table raw.probe_sessions
    add column stopping_rule text not null default 'fixed',
    add column target_ci_half_width double precision,
    add column min_runs integer,
    add column stopped_reason text;

alter table raw.probe_sessions
    add constraint sessions_stopping_rule_known check (stopping_rule in ('fixed', 'until_ci')),
    add constraint sessions_stopping_rule_parameters check (
        (stopping_rule = 'fixed' and target_ci_half_width is null and min_runs is null)
        or (stopping_rule = 'until_ci' and target_ci_half_width > 0 and target_ci_half_width <= 3
            and min_runs >= 2 and min_runs <= runs_requested)
    ),
    add constraint sessions_stopped_reason_known check (
        stopped_reason is null
        or (stopping_rule = 'until_ci' and status = 'completed' and stopped_reason in ('precision', 'max_runs'))
    );

comment on column raw.probe_sessions.stopping_rule is
    'fixed: runs_requested runs; until_ci: until the 95% CI half-width of the mean depth <= target_ci_half_width.';
comment on column raw.probe_sessions.target_ci_half_width is
    'until_ci: the half-width of the 95% interval of the mean depth to reach.';
comment on column raw.probe_sessions.min_runs is
    'until_ci: runs stored before the rule may stop.';
comment on column raw.probe_sessions.stopped_reason is
    'until_ci, once completed: precision (target met) or max_runs (the cap, runs_requested, was reached).';

create or replace function raw.check_runs_requested_fixed() returns trigger
language plpgsql
set search_path = pg_catalog
as $$
declare
    stored record;
begin
    if new.runs_requested is not distinct from old.runs_requested then
        return new;
    end if;
    if old.stopping_rule = 'until_ci' and old.status = 'running' and new.status = 'completed'
            and new.stopped_reason = 'precision' and new.runs_requested < old.runs_requested then
        select count(*) as n, max(r.run_number) as top into stored
        from raw.variance_probe_runs as r
        where r.session_id = old.session_id;
        if stored.n = new.runs_requested and stored.top = new.runs_requested then
            return new;
        end if;
    end if;
    raise exception 'runs_requested of session % is fixed when the session is created', old.session_id
        using errcode = 'check_violation', schema = 'raw', table = 'probe_sessions',
              column = 'runs_requested', constraint = 'sessions_runs_requested_fixed',
              detail = format('session %s requested %s runs; refused: %s (only an until_ci session that '
                              'completes on precision may lower it, to exactly the runs 1..n it holds)',
                              old.session_id, old.runs_requested, new.runs_requested);
end
$$;

comment on function raw.check_runs_requested_fixed() is
    'Refuses a change of a session''s runs_requested (constraint sessions_runs_requested_fixed), except an '
    'until_ci session completing on precision with exactly its stored runs 1..n (0011).';

-- the collector sets why a session stopped, and lowers runs_requested in the one case above
grant update (runs_requested, stopped_reason) on raw.probe_sessions to nyx_collector;
