revoke all on raw.glossary from nyx_collector;
alter table raw.variance_probe_runs drop constraint if exists runs_stop_reason;
alter table raw.variance_probe_runs add constraint runs_stop_reason check (
    (depth = rounds and rounds = max_rounds)
    or (rounds = depth + 1 and coalesce(echo_types[rounds] not in ('EXPANDS', 'CONFIRMS'), false))
);
alter table raw.probe_rounds drop column if exists sim_ref;
alter table raw.probe_sessions
    drop column if exists judge_mode,
    drop column if exists glossary_id,
    drop column if exists encoder,
    drop column if exists stop_early;
drop table if exists raw.glossary;
