drop table raw.queue_workers;

alter table raw.probe_sessions
    drop column queued;
