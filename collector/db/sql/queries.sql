-- Every query the collector runs, one named block each, read by collector.db.store.
-- A block starts with "-- name: <name>" and runs to the next block; parameters are %(name)s.

-- name: create_session
-- Insert a new session row; status, started_at and finished_at take their defaults.
insert into raw.probe_sessions (
    session_id, term, model_name, model_revision, device, dtype, backend, prompt_template,
    temperature, top_p, top_k, max_rounds, max_new_tokens, seed, batch_size, runs_requested,
    collector_version, judge_version, hostname, pid, judge_mode, glossary_id, encoder, stop_early,
    stopping_rule, target_ci_half_width, min_runs, judge_settings, queued
) values (
    %(session_id)s, %(term)s, %(model_name)s, %(model_revision)s, %(device)s, %(dtype)s,
    %(backend)s, %(prompt_template)s, %(temperature)s, %(top_p)s, %(top_k)s, %(max_rounds)s,
    %(max_new_tokens)s, %(seed)s, %(batch_size)s, %(runs_requested)s,
    %(collector_version)s, %(judge_version)s, %(hostname)s, %(pid)s,
    %(judge_mode)s, %(glossary_id)s, %(encoder)s, %(stop_early)s,
    %(stopping_rule)s, %(target_ci_half_width)s, %(min_runs)s, %(judge_settings)s, %(queued)s
);

-- name: finish_session
-- Close a session; returns the session id, or no row when there is no such session or it is
-- completed already (a completed session is never marked otherwise).
update raw.probe_sessions
set status = %(status)s,
    finished_at = greatest(now(), started_at),
    error = %(error)s,
    stopped_reason = %(stopped_reason)s
where session_id = %(session_id)s and status <> 'completed'
returning session_id;

-- name: complete_on_precision
-- An until_ci session met its target: complete it with runs_requested = the runs it holds, in one
-- statement (migration 0011 allows exactly this change of runs_requested). No row when it is not
-- running.
update raw.probe_sessions
set status = 'completed',
    finished_at = greatest(now(), started_at),
    error = null,
    stopped_reason = 'precision',
    runs_requested = %(runs)s
where session_id = %(session_id)s and status = 'running'
returning session_id;

-- name: depth_precision
-- The 95% interval of a session's mean depth over its stored runs, and whether its until_ci rule
-- may stop. half_width comes from stats.depth_mean_ci_half_width (migrations 0014 and 0016), the
-- function whose interval the marts report: z95 * sqrt(max(s^2, floor) / n), with %(z95)s the dbt var
-- z95 (the caller reads it from dbt_project.yml, as the marts do), the floor
-- max_rounds^2 * min(3 / n, 1/4) (the rule of three: a sample in which every run has one depth still
-- leaves up to 3/n of runs elsewhere, at 95%; capped at the largest variance on [0, max_rounds]),
-- so a zero-variance sample never gives a zero-width interval. variance_floor is that floor, for
-- the record. may_stop needs n >= min_runs, half_width <= target and the runs stored to be exactly
-- 1..n (so the session can complete with runs_requested = n).
with runs as (
    select
        count(*) as n,
        max(r.run_number) as top,
        avg(r.depth::double precision) as mean,
        var_samp(r.depth::double precision) as variance
    from raw.variance_probe_runs as r
    where r.session_id = %(session_id)s
),
session as (
    select s.target_ci_half_width, s.min_runs, s.max_rounds::double precision as max_rounds
    from raw.probe_sessions as s
    where s.session_id = %(session_id)s
),
widths as (
    select
        runs.n,
        runs.top,
        runs.mean,
        runs.variance,
        stats.depth_variance_floored(null, runs.n, session.max_rounds) as variance_floor,
        case when runs.n >= 2 then stats.depth_mean_ci_half_width(
            runs.variance, runs.n, session.max_rounds, %(z95)s::double precision
        ) end
            as half_width,
        session.target_ci_half_width as target,
        session.min_runs
    from runs cross join session
)
select
    widths.*,
    coalesce(widths.n >= widths.min_runs and widths.half_width <= widths.target and widths.top = widths.n, false)
        as may_stop
from widths;

-- name: copy_runs
-- COPY target for finished runs; the column order matches Store._run_row.
copy raw.variance_probe_runs (
    session_id, term, run_number, "timestamp", depth, rounds, echo_types, chain,
    model_name, temperature, max_rounds, max_new_tokens, seed
) from stdin;

-- name: copy_rounds
-- COPY target for the rounds of finished runs; {columns} is filled from store.ROUND_COLUMNS.
copy raw.probe_rounds ({columns}) from stdin;

-- name: transaction_now
select now() as now;

-- name: get_session
select
    s.*,
    (select count(*) from raw.variance_probe_runs as r where r.session_id = s.session_id) as runs_stored
from raw.probe_sessions as s
where s.session_id = %(session_id)s;

-- name: list_sessions
-- Most recent sessions first, with the number of runs stored for each.
select
    s.*,
    (select count(*) from raw.variance_probe_runs as r where r.session_id = s.session_id) as runs_stored
from raw.probe_sessions as s
order by s.started_at desc, s.session_id
limit %(limit)s;

-- name: count_runs
select count(*) as n from raw.variance_probe_runs where session_id = %(session_id)s;

-- name: depth_counts
select depth, count(*) as n
from raw.variance_probe_runs
where session_id = %(session_id)s
group by depth
order by depth;

-- name: fetch_runs
select
    id, session_id, term, run_number, "timestamp", depth, rounds, echo_types, chain,
    model_name, temperature, max_rounds, max_new_tokens, seed
from raw.variance_probe_runs
where session_id = %(session_id)s
order by run_number;

-- name: fetch_rounds
select
    session_id, run_number, round, prompt, completion, echo_type, tokens_generated,
    finish_reason, n_words, distinct_ratio, nonletter_ratio, content_words, new_stems,
    novelty, sim_term, sim_prev, sim_ref
from raw.probe_rounds
where session_id = %(session_id)s
order by run_number, round;

-- name: migrate_lock
-- Serialises concurrent migrators on one database (released by migrate_unlock or at disconnect).
select pg_advisory_lock(hashtext('nyx.migrate'));

-- name: migrate_unlock
select pg_advisory_unlock(hashtext('nyx.migrate'));

-- name: applied_migrations
-- The migrations yoyo has applied to this database, by id (its own bookkeeping table).
select migration_id from _yoyo_migration order by applied_at_utc, migration_id;

-- name: find_sessions_by_prefix
-- Sessions whose id starts with a prefix (hex digits and dashes only), newest first.
select session_id
from raw.probe_sessions
where session_id::text like %(prefix)s || '%%'
order by started_at desc
limit 2;

-- name: latest_session
-- The most recently started session.
select session_id
from raw.probe_sessions
order by started_at desc
limit 1;

-- name: write_message_to_nimmerverse
-- A message from the partnership to the nimmerverse; returns the stored row.
insert into public.partnership_to_nimmerverse_messages (message, message_type)
values (%(message)s, %(message_type)s)
returning id, "timestamp", message, message_type;

-- name: write_message_to_partnership
-- A message from the nimmerverse to the partnership; returns the stored row.
insert into public.nimmerverse_to_partnership_messages (message, message_type)
values (%(message)s, %(message_type)s)
returning id, "timestamp", message, message_type;

-- name: read_messages_to_nimmerverse
-- The latest messages to the nimmerverse, newest first.
select id, "timestamp", message, message_type
from public.partnership_to_nimmerverse_messages
order by "timestamp" desc, id desc
limit %(limit)s;

-- name: read_messages_to_partnership
-- The latest messages to the partnership, newest first.
select id, "timestamp", message, message_type
from public.nimmerverse_to_partnership_messages
order by "timestamp" desc, id desc
limit %(limit)s;

-- name: write_semantic_variance
-- The spread of a session's chain embeddings; a re-run of the computation replaces it.
insert into raw.session_semantic_variance (
    session_id, model_name, chains, dimensions, mean_centroid_distance, mean_pairwise_cosine_distance
) values (
    %(session_id)s, %(model_name)s, %(chains)s, %(dimensions)s, %(mean_centroid_distance)s,
    %(mean_pairwise_cosine_distance)s
)
on conflict (session_id) do update set
    model_name = excluded.model_name,
    chains = excluded.chains,
    dimensions = excluded.dimensions,
    mean_centroid_distance = excluded.mean_centroid_distance,
    mean_pairwise_cosine_distance = excluded.mean_pairwise_cosine_distance,
    computed_at = now();

-- name: get_semantic_variance
-- One session's semantic variance row, if computed.
select * from raw.session_semantic_variance where session_id = %(session_id)s;

-- name: missing_run_numbers
-- The run numbers of a session that are not stored yet, in order.
select n as run_number
from generate_series(1, %(runs_requested)s) as n
where not exists (
    select 1 from raw.variance_probe_runs as r
    where r.session_id = %(session_id)s and r.run_number = n
)
order by n;

-- name: reopen_session
-- Mark an unfinished session as running again, by this process; no row if it is completed.
update raw.probe_sessions
set status = 'running', finished_at = null, error = null, hostname = %(hostname)s, pid = %(pid)s
where session_id = %(session_id)s and status <> 'completed'
returning session_id;

-- name: stored_run_numbers
-- The run numbers a session has stored.
select run_number from raw.variance_probe_runs where session_id = %(session_id)s;

-- name: glossary_add
-- Add a version of a term's reference meaning, unless it equals the newest one (the same
-- language, references and glosses, in order; the source is not compared); returns the row now in
-- force (the new one, or the unchanged newest) and whether it was added.
with newest as (
    select id, version, language, reference, reference_de, glosses, glosses_de
    from raw.glossary
    where term = %(term)s
    order by version desc
    limit 1
),
added as (
    insert into raw.glossary (term, version, language, reference, reference_de, source, glosses, glosses_de)
    select %(term)s, coalesce((select version from newest), 0) + 1, %(language)s, %(reference)s,
           %(reference_de)s, %(source)s, %(glosses)s::text [], %(glosses_de)s::text []
    where not exists (
        select 1 from newest
        where newest.reference = %(reference)s
          and newest.reference_de is not distinct from %(reference_de)s
          and newest.language = %(language)s
          and newest.glosses = %(glosses)s::text []
          and newest.glosses_de = %(glosses_de)s::text []
    )
    returning id, term, version, language, reference, reference_de, glosses, glosses_de, source, added_at,
              true as added
)
select * from added
union all
select g.id, g.term, g.version, g.language, g.reference, g.reference_de, g.glosses, g.glosses_de, g.source,
       g.added_at, false as added
from raw.glossary as g
where g.id = (select id from newest) and not exists (select 1 from added);

-- name: glossary_current
-- The newest version of one term's reference meaning and glosses, or no row.
select id, term, version, language, reference, reference_de, glosses, glosses_de, source, added_at
from raw.glossary
where term = %(term)s
order by version desc
limit 1;

-- name: glossary_list
-- The newest version of every term (or every version with all_versions), by term.
select id, term, version, language, reference, reference_de, glosses, glosses_de, source, added_at
from raw.glossary as g
where %(all_versions)s or g.version = (select max(version) from raw.glossary where term = g.term)
order by term, version;

-- name: glossary_get
select id, term, version, language, reference, reference_de, glosses, glosses_de, source, added_at
from raw.glossary
where id = %(id)s;

-- name: glossary_terms
-- Every term of the glossary with the source of its newest version (shipped entries are marked there).
select distinct on (term) term, source
from raw.glossary
order by term, version desc;

-- name: add_session_judgement
-- The settings of a re-judgement; a second one by the same version is refused by the key.
insert into raw.session_judgements (
    session_id, judge_version, judge_mode, glossary_id, encoder, rounds_judged, collector_version, judge_settings
) values (
    %(session_id)s, %(judge_version)s, %(judge_mode)s, %(glossary_id)s, %(encoder)s, %(rounds_judged)s,
    %(collector_version)s, %(judge_settings)s
);

-- name: copy_round_judgements
-- COPY target for re-judged rounds; {columns} is filled from store.JUDGEMENT_COLUMNS.
copy raw.round_judgements ({columns}) from stdin;

-- name: session_judgements
-- Every re-judgement of a session, oldest first.
select session_id, judge_version, judge_mode, glossary_id, encoder, rounds_judged, judged_at, collector_version
from raw.session_judgements
where session_id = %(session_id)s
order by judged_at, judge_version;

-- name: fetch_round_judgements
select session_id, run_number, round, judge_version, echo_type, sim_term, sim_prev, sim_ref
from raw.round_judgements
where session_id = %(session_id)s and judge_version = %(judge_version)s
order by run_number, round;

-- name: rejudge_try_lock
-- Taken by a process before it re-judges a session with a judge version; another process gets
-- false at once and leaves the session to the holder. Released by rejudge_unlock or at disconnect.
select pg_try_advisory_lock(
    hashtextextended('nyx.rejudge ' || %(session_id)s::text || ' ' || %(judge_version)s::text, 0)
) as locked;

-- name: rejudge_unlock
select pg_advisory_unlock(
    hashtextextended('nyx.rejudge ' || %(session_id)s::text || ' ' || %(judge_version)s::text, 0)
) as unlocked;

-- name: sessions_to_rejudge
-- Finished sessions not yet judged by the given version, oldest first.
select s.session_id
from raw.probe_sessions as s
where s.status <> 'running'
  and s.judge_version <> %(judge_version)s
  and not exists (
      select 1 from raw.session_judgements as j
      where j.session_id = s.session_id and j.judge_version = %(judge_version)s
  )
order by s.started_at, s.session_id;

-- name: label_candidates
-- Every stored round of the given sessions, in key order, with what a labeller sees and the
-- stratum it is sampled in (its round and the session's own judge's type), and the label this
-- labeller gave it, if any.
select r.session_id, r.run_number, r.round, s.term, s.model_name, s.glossary_id,
       r.prompt, r.completion, r.echo_type as judge_type, l.label as own_label
from raw.probe_rounds as r
inner join raw.probe_sessions as s on s.session_id = r.session_id
left join raw.round_labels as l
    on l.session_id = r.session_id and l.run_number = r.run_number and l.round = r.round
       and l.labeller = %(labeller)s
where r.session_id = any(%(sessions)s)
order by r.session_id, r.run_number, r.round;

-- name: sessions_of_term
-- The sessions of a term that have stored rounds, oldest first (optionally of one model).
select s.session_id
from raw.probe_sessions as s
where s.term = %(term)s
  and (%(model_name)s::text is null or s.model_name = %(model_name)s)
  and exists (select 1 from raw.probe_rounds as r where r.session_id = s.session_id)
order by s.started_at, s.session_id;

-- name: label_get
select session_id, run_number, round, labeller, label, labelled_at, note
from raw.round_labels
where session_id = %(session_id)s and run_number = %(run_number)s and round = %(round)s
  and labeller = %(labeller)s;

-- name: label_put
-- Give (or replace) one labeller's label of a round; returns the stored row.
insert into raw.round_labels (session_id, run_number, round, labeller, label, labelled_at, note)
values (%(session_id)s, %(run_number)s, %(round)s, %(labeller)s, %(label)s,
        coalesce(%(labelled_at)s::timestamptz, now()), %(note)s)
on conflict (session_id, run_number, round, labeller) do update
set label = excluded.label, labelled_at = excluded.labelled_at, note = excluded.note
returning session_id, run_number, round, labeller, label, labelled_at, note;

-- name: label_delete
delete from raw.round_labels
where session_id = %(session_id)s and run_number = %(run_number)s and round = %(round)s
  and labeller = %(labeller)s;

-- name: label_unknown_rounds
-- Of the given round keys (parallel arrays, with the term, model, prompt and completion each claims;
-- null: no claim), those with no stored round, or whose round differs from a claim (a label given
-- to another text): (position, reason naming the first field that differs).
with claimed as (
    select
        k.pos,
        case
            when r.session_id is null then 'no such round'
            when k.term is not null and s.term <> k.term then 'the round is of another term'
            when k.model_name is not null and s.model_name <> k.model_name
                then 'model_name differs from the stored round''s'
            when k.prev is not null and r.prompt <> k.prev then 'prev differs from the stored round''s'
            when k.text is not null and r.completion <> k.text then 'text differs from the stored round''s'
        end as reason
    from unnest(
        %(session_ids)s::uuid[], %(run_numbers)s::integer[], %(rounds)s::integer[], %(terms)s::text[],
        %(model_names)s::text[], %(prevs)s::text[], %(texts)s::text[]
    ) with ordinality as k (session_id, run_number, round, term, model_name, prev, text, pos)
    left join raw.probe_rounds as r
        on r.session_id = k.session_id and r.run_number = k.run_number and r.round = k.round
    left join raw.probe_sessions as s on s.session_id = r.session_id
)
select pos, reason
from claimed
where reason is not null
order by pos;

-- name: labels_export
-- Labels with the round they label, as `label export` writes them (optionally of one session,
-- one term or one labeller), in key order.
select l.session_id, l.run_number, l.round, s.term, r.prompt as prev, r.completion as text, l.label,
       l.labeller, l.labelled_at, l.note, s.model_name
from raw.round_labels as l
inner join raw.probe_rounds as r
    on r.session_id = l.session_id and r.run_number = l.run_number and r.round = l.round
inner join raw.probe_sessions as s on s.session_id = l.session_id
where (%(session_id)s::uuid is null or l.session_id = %(session_id)s)
  and (%(term)s::text is null or s.term = %(term)s)
  and (%(labeller)s::text is null or l.labeller = %(labeller)s)
order by l.session_id, l.run_number, l.round, l.labeller;


-- name: defer_shard_jobs
-- One job per shard of a queued session, through procrastinate's own defer function (0017): the
-- same insert and notification as procrastinate's defer, inside the caller's transaction, so a
-- session and its jobs are written together or not at all. The queueing lock (a unique index over
-- waiting jobs) refuses a shard that is already waiting.
select unnest(public.procrastinate_defer_jobs_v1(array(
    select row(%(queue)s, %(task)s, 0, j.lock, j.lock, j.args, null)::public.procrastinate_job_to_defer_v1
    from jsonb_to_recordset(%(jobs)s::jsonb) as j (lock text, args jsonb)
))) as job_id;

-- name: active_shards
-- The shards of a session whose jobs wait or run.
select (args ->> 'first')::integer as first, (args ->> 'last')::integer as last, status::text as status
from public.procrastinate_jobs
where task_name = %(task)s and args ->> 'session_id' = %(session_id)s and status in ('todo', 'doing')
order by 1;

-- name: record_worker
-- A queue worker says which machine it is (once; procrastinate knows it only by its id).
insert into raw.queue_workers (worker_id, hostname, pid, device)
values (%(worker_id)s, %(hostname)s, %(pid)s, %(device)s)
on conflict (worker_id) do nothing;
