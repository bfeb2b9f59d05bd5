-- Undo 0010_collector_status: the collector may again set any status of any session.
drop trigger if exists session_semantic_variance_not_of_completed on raw.session_semantic_variance;
drop trigger if exists probe_rounds_not_into_completed on raw.probe_rounds;
drop trigger if exists variance_probe_runs_not_into_completed on raw.variance_probe_runs;
drop trigger if exists probe_sessions_status_transitions on raw.probe_sessions;
drop function if exists raw.check_spread_not_of_completed();
drop function if exists raw.check_not_into_completed();
drop function if exists raw.check_session_status();
drop function if exists raw.owns_table(oid);
