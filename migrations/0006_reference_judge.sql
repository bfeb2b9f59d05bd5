-- depends: 0005_sampler_backend
-- The judge measures meaning: reference meanings of terms (the glossary), the judge's settings
-- recorded with every session, the similarity to the reference stored with every round, and full
-- chains (every run may generate all max_rounds rounds; depth stays the count of leading rounds
-- that expand or confirm).

-- ---------------------------------------------------------------------------------------------
-- raw.glossary: reference meanings, versioned. A change is a new row with the next version; old
-- versions stay, so a session can always name the exact text it was judged against.
-- ---------------------------------------------------------------------------------------------
create table raw.glossary (
    id bigint generated always as identity,
    term text not null,
    version integer not null,
    language text not null,
    reference text not null,
    reference_de text,
    source text,
    added_at timestamptz not null default now(),
    added_by text not null default current_user,

    constraint glossary_pkey primary key (id),
    constraint glossary_term_version_key unique (term, version),
    constraint glossary_term_not_blank check (btrim(term) <> ''),
    constraint glossary_term_length check (char_length(term) <= 200),
    constraint glossary_term_no_control check (term !~ '[\x01-\x1f\x7f-\x9f\u2028\u2029]'),
    constraint glossary_version_positive check (version >= 1),
    constraint glossary_language_code check (language ~ '^[a-z]{2,3}$'),
    constraint glossary_reference_not_blank check (btrim(reference) <> ''),
    constraint glossary_reference_length check (char_length(reference) <= 4000),
    constraint glossary_reference_de_not_blank check (reference_de is null or btrim(reference_de) <> ''),
    constraint glossary_reference_de_length check (char_length(reference_de) <= 4000),
    constraint glossary_source_length check (char_length(source) <= 1000)
);

comment on table raw.glossary is
    'Reference meanings of terms, one row per version; the judge compares every round with the newest version.';
comment on column raw.glossary.id is 'Surrogate key of one version of one term''s reference meaning; sessions name it.';
comment on column raw.glossary.term is 'The term, verbatim, as the collector stores it in probe_sessions.term.';
comment on column raw.glossary.version is 'Version of this term''s reference meaning, from 1; a change adds the next version.';
comment on column raw.glossary.language is 'Language of the term (ISO 639 code, e.g. de, en).';
comment on column raw.glossary.reference is 'Short description of the term''s meaning, in English.';
comment on column raw.glossary.reference_de is 'The same description in German (optional).';
comment on column raw.glossary.source is 'Where the description comes from (optional).';
comment on column raw.glossary.added_at is 'When this version was added.';
comment on column raw.glossary.added_by is 'Database role that added this version.';

-- ---------------------------------------------------------------------------------------------
-- the judge's settings per session
-- ---------------------------------------------------------------------------------------------
alter table raw.probe_sessions
    add column judge_mode text not null default 'frame',
    add column glossary_id bigint,
    add column encoder text not null default 'probe-model-hidden-states',
    add column stop_early boolean not null default true;

alter table raw.probe_sessions
    add constraint sessions_judge_mode_known check (judge_mode in ('reference', 'frame')),
    add constraint sessions_reference_iff_mode check ((judge_mode = 'reference') = (glossary_id is not null)),
    add constraint sessions_glossary_fkey foreign key (glossary_id) references raw.glossary (id),
    add constraint sessions_encoder_not_blank check (btrim(encoder) <> '');

-- The defaults describe what sessions collected before this migration did, and what a collector
-- older than it still does: stop each run at its first break, judge against the frame with the
-- probe model's hidden states. This collector always states all four.

comment on column raw.probe_sessions.judge_mode is
    'reference: rounds were judged against the term''s reference meaning (glossary_id); frame: the term had none, rounds were judged against the framed term.';
comment on column raw.probe_sessions.glossary_id is 'The glossary row (term and version) the judge compared with; NULL in frame mode.';
comment on column raw.probe_sessions.encoder is 'Sentence encoder behind the judge''s similarities, with its version.';
comment on column raw.probe_sessions.stop_early is
    'true: a run stopped at its first round that did not continue; false: every run generated all max_rounds rounds.';

-- ---------------------------------------------------------------------------------------------
-- rounds: the similarity to the reference meaning
-- ---------------------------------------------------------------------------------------------
alter table raw.probe_rounds
    add column sim_ref real;

alter table raw.probe_rounds
    add constraint rounds_sim_ref_range check (sim_ref between -1.0001 and 1.0001);

comment on column raw.probe_rounds.sim_ref is
    'Cosine similarity of the completion with the term''s reference meaning (-1 to 1); NULL in frame mode or before 0006.';

-- ---------------------------------------------------------------------------------------------
-- runs: full chains. A run stops either at max_rounds or, with stop_early, right after its first
-- round that did not continue; either way depth is the number of leading rounds that continue.
-- ---------------------------------------------------------------------------------------------
alter table raw.variance_probe_runs
    drop constraint runs_stop_reason;

alter table raw.variance_probe_runs
    add constraint runs_stop_reason check (
        (rounds = max_rounds or rounds = depth + 1)
        and (depth = rounds or coalesce(echo_types[depth + 1] not in ('EXPANDS', 'CONFIRMS'), false))
    );

comment on column raw.variance_probe_runs.depth is
    'Leading rounds that expanded or confirmed (0 to 3): where the chain would have stopped.';
comment on column raw.variance_probe_runs.rounds is
    'Rounds generated: max_rounds for a full chain, else depth plus 1 if a round stopped the chain.';

-- ---------------------------------------------------------------------------------------------
-- privileges: the collector reads the glossary and may add to it; the analyst reads nothing in raw
-- ---------------------------------------------------------------------------------------------
grant select, insert on raw.glossary to nyx_collector;
