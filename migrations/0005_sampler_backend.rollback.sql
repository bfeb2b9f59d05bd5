alter table raw.probe_sessions drop constraint if exists probe_sessions_backend_known;
alter table raw.probe_sessions drop column if exists backend;
