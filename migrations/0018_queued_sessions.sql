-- depends: 0017_queue
-- A session collected through the queue (`nyx-collect submit`): its runs are collected by workers,
-- shard by shard, not by the process named in hostname and pid (the submitter, which returns at
-- once). Such a session is never 'stale' because its submitter is gone: the queue knows its shards
-- (waiting, running on which worker, done, failed) and retries the shards of a dead worker.

alter table raw.probe_sessions
    add column queued boolean not null default false;

comment on column raw.probe_sessions.queued is
    'Collected through the work queue (nyx-collect submit): shards of its run numbers are jobs in '
    'public.procrastinate_jobs, run by nyx-collect worker processes.';

-- Which machine a queue worker is: procrastinate knows a worker only by its id and heartbeat.
-- A worker adds its row when it starts its first job; `nyx-collect queue` and the progress view show
-- a running shard's worker as host:pid (device).
create table raw.queue_workers (
    worker_id bigint not null,
    hostname text not null,
    pid integer not null,
    device text not null,
    started_at timestamptz not null default now(),
    constraint queue_workers_pkey primary key (worker_id),
    constraint queue_workers_hostname_length check (length(hostname) between 1 and 255),
    constraint queue_workers_device_length check (length(device) between 1 and 64)
);

comment on table raw.queue_workers is
    'The host, pid and device of each queue worker (procrastinate_workers.id), written by the worker.';

comment on column raw.queue_workers.worker_id is 'procrastinate_workers.id of the worker (its registration).';
comment on column raw.queue_workers.hostname is 'The host the worker runs on.';
comment on column raw.queue_workers.pid is 'The worker process id on that host.';
comment on column raw.queue_workers.device is 'The device it generates on (cpu, cuda, cuda:1, ...).';
comment on column raw.queue_workers.started_at is 'When it started its first job.';

grant select, insert on raw.queue_workers to nyx_collector;
