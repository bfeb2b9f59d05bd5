-- The raw layer: what the collector writes, one row per session, per run and per round.
-- Every invariant of a probe run is a named CHECK constraint, so a row that could not have come
-- out of the probe is refused whoever inserts it. Runs on PostgreSQL 15 and later.

create schema if not exists raw;

comment on schema raw is 'Raw echo-probe data as written by the nyx collector; dbt models read from here.';

-- ---------------------------------------------------------------------------------------------
-- raw.probe_sessions: one row per collection session (one term, one model, one parameter set)
-- ---------------------------------------------------------------------------------------------
create table raw.probe_sessions (
    session_id uuid not null,
    term text not null,
    model_name text not null,
    model_revision text not null,
    device text not null,
    dtype text not null,
    prompt_template text not null,
    temperature double precision not null,
    top_p double precision not null,
    top_k integer,
    max_rounds smallint not null,
    max_new_tokens integer not null,
    seed bigint not null,
    batch_size integer not null,
    runs_requested integer not null,
    status text not null default 'running',
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    collector_version text not null,
    classifier_version text not null,
    hostname text not null,
    pid integer not null,
    error text,

    constraint probe_sessions_pkey primary key (session_id),
    -- target of the runs' foreign key, which makes a run's term its session's term
    constraint sessions_session_term_key unique (session_id, term),
    constraint sessions_term_not_blank check (btrim(term) <> ''),
    constraint sessions_term_length check (char_length(term) <= 200),
    constraint sessions_term_no_control check (term !~ '[\x01-\x1f\x7f-\x9f\u2028\u2029]'),
    constraint sessions_prompt_template_has_term check (strpos(prompt_template, '{term}') > 0),
    constraint sessions_temperature_range check (temperature >= 0 and temperature < 'Infinity'::double precision),
    constraint sessions_top_p_range check (top_p > 0 and top_p <= 1),
    constraint sessions_top_k_positive check (top_k > 0),
    constraint sessions_max_rounds_range check (max_rounds between 1 and 3),
    constraint sessions_max_new_tokens_positive check (max_new_tokens > 0),
    constraint sessions_batch_size_positive check (batch_size > 0),
    constraint sessions_runs_requested_positive check (runs_requested > 0),
    constraint sessions_status_known check (status in ('running', 'completed', 'failed', 'interrupted')),
    constraint sessions_finished_after_start check (finished_at >= started_at),
    constraint sessions_finished_iff_not_running check ((status = 'running') = (finished_at is null))
);

create index probe_sessions_term_idx on raw.probe_sessions (term);
create index probe_sessions_started_at_idx on raw.probe_sessions (started_at desc);

comment on table raw.probe_sessions is
    'One row per collection session: one term probed many times with one model and one set of sampling parameters.';
comment on column raw.probe_sessions.session_id is 'Session id (UUID v4), chosen by the collector.';
comment on column raw.probe_sessions.term is 'The probed term, verbatim (trimmed; no control characters; at most 200 characters).';
comment on column raw.probe_sessions.model_name is 'Model identifier, e.g. the Hugging Face repository id.';
comment on column raw.probe_sessions.model_revision is 'Model revision (commit hash or file digest) the weights came from.';
comment on column raw.probe_sessions.device is 'Device the model ran on (cpu, cuda, mps, ...).';
comment on column raw.probe_sessions.dtype is 'Torch dtype of the model weights during generation.';
comment on column raw.probe_sessions.prompt_template is 'Round-1 prompt template; {term} is replaced by the term.';
comment on column raw.probe_sessions.temperature is 'Sampling temperature (0 = greedy).';
comment on column raw.probe_sessions.top_p is 'Nucleus sampling mass, in (0, 1].';
comment on column raw.probe_sessions.top_k is 'Top-k cut-off; NULL when not used.';
comment on column raw.probe_sessions.max_rounds is 'Most rounds a run may take (1 to 3).';
comment on column raw.probe_sessions.max_new_tokens is 'Most tokens generated per round.';
comment on column raw.probe_sessions.seed is 'Session seed; every run seed is derived from it.';
comment on column raw.probe_sessions.batch_size is 'Runs generated together in one batch.';
comment on column raw.probe_sessions.runs_requested is 'Runs the session was asked for; compare with the runs stored.';
comment on column raw.probe_sessions.status is 'running, completed, failed or interrupted.';
comment on column raw.probe_sessions.started_at is 'When the session row was created.';
comment on column raw.probe_sessions.finished_at is 'When the session ended; NULL exactly while status is running.';
comment on column raw.probe_sessions.collector_version is 'Version of the nyx collector that wrote the session.';
comment on column raw.probe_sessions.classifier_version is 'Version of the echo-type classifier rules used for every round.';
comment on column raw.probe_sessions.hostname is 'Host the collector ran on.';
comment on column raw.probe_sessions.pid is 'Process id of the collector.';
comment on column raw.probe_sessions.error is 'First line of the error for failed or interrupted sessions.';

-- ---------------------------------------------------------------------------------------------
-- raw.variance_probe_runs: one row per probe run (one chain of up to max_rounds rounds)
-- ---------------------------------------------------------------------------------------------
create table raw.variance_probe_runs (
    id bigint generated always as identity,
    session_id uuid not null,
    term text not null,
    run_number integer not null,
    "timestamp" timestamptz not null default now(),
    depth smallint not null,
    rounds smallint not null,
    echo_types text [] not null,
    chain text [] not null,
    model_name text not null,
    temperature double precision not null,
    max_rounds smallint not null,
    max_new_tokens integer not null,
    seed bigint not null,

    constraint variance_probe_runs_pkey primary key (id),
    constraint runs_session_run_number_key unique (session_id, run_number),
    constraint runs_session_fkey foreign key (session_id, term)
        references raw.probe_sessions (session_id, term) on delete cascade,
    constraint runs_term_not_blank check (btrim(term) <> ''),
    constraint runs_term_length check (char_length(term) <= 200),
    constraint runs_term_no_control check (term !~ '[\x01-\x1f\x7f-\x9f\u2028\u2029]'),
    constraint runs_run_number_positive check (run_number >= 1),
    constraint runs_depth_range check (depth between 0 and 3),
    constraint runs_rounds_range check (rounds between 1 and 3),
    constraint runs_max_rounds_range check (max_rounds between 1 and 3),
    constraint runs_temperature_range check (temperature >= 0 and temperature < 'Infinity'::double precision),
    constraint runs_max_new_tokens_positive check (max_new_tokens > 0),
    constraint runs_depth_le_rounds check (depth <= rounds),
    constraint runs_rounds_le_max_rounds check (rounds <= max_rounds),
    -- arrays: one dimension, subscripts from 1, no NULL elements (array_position needs one dimension)
    constraint runs_echo_types_shape check (array_ndims(echo_types) = 1 and array_lower(echo_types, 1) = 1),
    constraint runs_echo_types_length check (cardinality(echo_types) = rounds),
    constraint runs_echo_types_no_null check (
        case when array_ndims(echo_types) = 1 then array_position(echo_types, null) is null else true end
    ),
    constraint runs_echo_types_known check (
        echo_types <@ array['EXPANDS', 'CONFIRMS', 'CIRCULAR', 'DIVERGENT', 'COLLAPSE']::text []
    ),
    constraint runs_chain_shape check (array_ndims(chain) = 1 and array_lower(chain, 1) = 1),
    constraint runs_chain_length check (cardinality(chain) = depth + 1),
    constraint runs_chain_no_null check (
        case when array_ndims(chain) = 1 then array_position(chain, null) is null else true end
    ),
    constraint runs_chain_starts_with_term check (chain[1] is not distinct from term),
    -- the chain grows while rounds expand or confirm ...
    constraint runs_leading_types_continue check (
        depth = 0 or echo_types[1:depth] <@ array['EXPANDS', 'CONFIRMS']::text []
    ),
    -- ... and stops at max_rounds or at the first round of another type, which ends the run
    constraint runs_stop_reason check (
        (depth = rounds and rounds = max_rounds)
        or (
            rounds = depth + 1
            and coalesce(echo_types[rounds] not in ('EXPANDS', 'CONFIRMS'), false)
        )
    )
);

create index variance_probe_runs_term_idx on raw.variance_probe_runs (term);
create index variance_probe_runs_timestamp_idx on raw.variance_probe_runs ("timestamp" desc);

comment on table raw.variance_probe_runs is
    'One row per probe run: the term echoed back through up to max_rounds rounds; depth counts the rounds that expanded or confirmed.';
comment on column raw.variance_probe_runs.id is 'Surrogate key, in insertion order.';
comment on column raw.variance_probe_runs.session_id is 'The session the run belongs to.';
comment on column raw.variance_probe_runs.term is 'The probed term; the foreign key makes it the session''s term.';
comment on column raw.variance_probe_runs.run_number is 'Run number within the session, from 1; unique per session.';
comment on column raw.variance_probe_runs."timestamp" is 'When the run finished (or was stored).';
comment on column raw.variance_probe_runs.depth is 'Rounds that expanded or confirmed before the chain stopped (0 to 3).';
comment on column raw.variance_probe_runs.rounds is 'Rounds generated (1 to max_rounds): depth, plus 1 if a round stopped the chain.';
comment on column raw.variance_probe_runs.echo_types is 'Echo type of each round, in order; length = rounds.';
comment on column raw.variance_probe_runs.chain is 'The term, then each accepted completion; length = depth + 1.';
comment on column raw.variance_probe_runs.model_name is 'Model identifier (copied from the session).';
comment on column raw.variance_probe_runs.temperature is 'Sampling temperature (copied from the session).';
comment on column raw.variance_probe_runs.max_rounds is 'Round limit (copied from the session).';
comment on column raw.variance_probe_runs.max_new_tokens is 'Token limit per round (copied from the session).';
comment on column raw.variance_probe_runs.seed is 'Run seed, derived from the session seed and the run number.';

-- ---------------------------------------------------------------------------------------------
-- raw.probe_rounds: one row per generation round of a run, with every classifier feature
-- ---------------------------------------------------------------------------------------------
create table raw.probe_rounds (
    session_id uuid not null,
    run_number integer not null,
    round smallint not null,
    prompt text not null,
    completion text not null,
    echo_type text not null,
    tokens_generated integer not null,
    finish_reason text not null,
    n_words integer not null,
    distinct_ratio real not null,
    nonletter_ratio real not null,
    content_words integer not null,
    new_stems integer not null,
    novelty real not null,
    sim_term real,
    sim_prev real,

    constraint probe_rounds_pkey primary key (session_id, run_number, round),
    constraint rounds_run_fkey foreign key (session_id, run_number)
        references raw.variance_probe_runs (session_id, run_number) on delete cascade,
    constraint rounds_round_range check (round between 1 and 3),
    constraint rounds_echo_type_known check (echo_type in ('EXPANDS', 'CONFIRMS', 'CIRCULAR', 'DIVERGENT', 'COLLAPSE')),
    constraint rounds_tokens_generated_nonnegative check (tokens_generated >= 0),
    constraint rounds_finish_reason_known check (finish_reason in ('eos', 'length')),
    constraint rounds_n_words_nonnegative check (n_words >= 0),
    constraint rounds_distinct_ratio_range check (distinct_ratio between 0 and 1),
    constraint rounds_nonletter_ratio_range check (nonletter_ratio between 0 and 1),
    constraint rounds_content_words_nonnegative check (content_words >= 0),
    constraint rounds_new_stems_nonnegative check (new_stems >= 0),
    constraint rounds_novelty_range check (novelty between 0 and 1),
    constraint rounds_sim_term_range check (sim_term between -1.0001 and 1.0001),
    constraint rounds_sim_prev_range check (sim_prev between -1.0001 and 1.0001)
);

comment on table raw.probe_rounds is
    'One row per round of a probe run: the prompt fed, the completion, its echo type and the classifier features.';
comment on column raw.probe_rounds.session_id is 'The session of the run.';
comment on column raw.probe_rounds.run_number is 'The run within the session.';
comment on column raw.probe_rounds.round is 'Round number within the run, from 1.';
comment on column raw.probe_rounds.prompt is 'Text fed to the model: the framed term in round 1, the previous completion later.';
comment on column raw.probe_rounds.completion is 'Text the model generated, verbatim.';
comment on column raw.probe_rounds.echo_type is 'Classifier verdict: EXPANDS, CONFIRMS, CIRCULAR, DIVERGENT or COLLAPSE.';
comment on column raw.probe_rounds.tokens_generated is 'Tokens generated in this round (end-of-sequence token not counted).';
comment on column raw.probe_rounds.finish_reason is 'eos (the model ended the text) or length (max_new_tokens reached).';
comment on column raw.probe_rounds.n_words is 'Words in the completion.';
comment on column raw.probe_rounds.distinct_ratio is 'Distinct words / words, 0 to 1.';
comment on column raw.probe_rounds.nonletter_ratio is 'Share of characters that are not letters, 0 to 1.';
comment on column raw.probe_rounds.content_words is 'Content (non-stop) words in the completion.';
comment on column raw.probe_rounds.new_stems is 'Word stems not seen earlier in the chain.';
comment on column raw.probe_rounds.novelty is 'Novelty of the completion against the texts before it in the chain, 0 to 1.';
comment on column raw.probe_rounds.sim_term is 'Embedding cosine similarity of the completion with the framed term (-1 to 1); NULL when not computed.';
comment on column raw.probe_rounds.sim_prev is 'Embedding cosine similarity of the completion with this round''s prompt (-1 to 1); NULL when not computed.';
