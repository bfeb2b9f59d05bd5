-- depends: 0006_reference_judge
-- Re-judging stored rounds with another judge version (nyx-collect rejudge), beside the original
-- judgement in raw.probe_rounds, never over it. One row per session and judge version says how
-- it was judged; one row per round holds the verdict and its features.

create table raw.session_judgements (
    session_id uuid not null,
    judge_version text not null,
    judge_mode text not null,
    glossary_id bigint,
    encoder text not null,
    rounds_judged integer not null,
    judged_at timestamptz not null default now(),
    collector_version text not null,

    constraint session_judgements_pkey primary key (session_id, judge_version),
    constraint session_judgements_session_fkey foreign key (session_id)
        references raw.probe_sessions (session_id) on delete cascade,
    constraint session_judgements_glossary_fkey foreign key (glossary_id) references raw.glossary (id),
    constraint session_judgements_version_not_blank check (btrim(judge_version) <> ''),
    constraint session_judgements_mode_known check (judge_mode in ('reference', 'frame')),
    constraint session_judgements_reference_iff_mode check ((judge_mode = 'reference') = (glossary_id is not null)),
    constraint session_judgements_encoder_not_blank check (btrim(encoder) <> ''),
    constraint session_judgements_rounds_positive check (rounds_judged > 0)
);

comment on table raw.session_judgements is
    'One row per session re-judged by a judge version other than the one it was collected with.';
comment on column raw.session_judgements.session_id is 'The re-judged session.';
comment on column raw.session_judgements.judge_version is 'The judge version that re-judged its rounds.';
comment on column raw.session_judgements.judge_mode is 'reference (against glossary_id) or frame.';
comment on column raw.session_judgements.glossary_id is 'The reference meaning the rounds were compared with; NULL in frame mode.';
comment on column raw.session_judgements.encoder is 'Sentence encoder behind the similarities, with its version.';
comment on column raw.session_judgements.rounds_judged is 'Rounds judged: every stored round of the session.';
comment on column raw.session_judgements.judged_at is 'When the re-judgement was stored.';
comment on column raw.session_judgements.collector_version is 'Version of the collector that re-judged.';

create table raw.round_judgements (
    session_id uuid not null,
    run_number integer not null,
    round smallint not null,
    judge_version text not null,
    echo_type text not null,
    n_words integer not null,
    distinct_ratio real not null,
    nonletter_ratio real not null,
    content_words integer not null,
    new_stems integer not null,
    novelty real not null,
    sim_term real,
    sim_prev real,
    sim_ref real,

    constraint round_judgements_pkey primary key (session_id, judge_version, run_number, round),
    constraint round_judgements_round_fkey foreign key (session_id, run_number, round)
        references raw.probe_rounds (session_id, run_number, round) on delete cascade,
    constraint round_judgements_session_fkey foreign key (session_id, judge_version)
        references raw.session_judgements (session_id, judge_version) on delete cascade,
    constraint round_judgements_echo_type_known check (
        echo_type in ('EXPANDS', 'CONFIRMS', 'CIRCULAR', 'DIVERGENT', 'COLLAPSE')
    ),
    constraint round_judgements_n_words_nonnegative check (n_words >= 0),
    constraint round_judgements_distinct_ratio_range check (distinct_ratio between 0 and 1),
    constraint round_judgements_nonletter_ratio_range check (nonletter_ratio between 0 and 1),
    constraint round_judgements_content_words_nonnegative check (content_words >= 0),
    constraint round_judgements_new_stems_nonnegative check (new_stems >= 0),
    constraint round_judgements_novelty_range check (novelty between 0 and 1),
    constraint round_judgements_sim_term_range check (sim_term between -1.0001 and 1.0001),
    constraint round_judgements_sim_prev_range check (sim_prev between -1.0001 and 1.0001),
    constraint round_judgements_sim_ref_range check (sim_ref between -1.0001 and 1.0001)
);

comment on table raw.round_judgements is
    'The verdict of a later judge version on a stored round, with the features it decided on.';
comment on column raw.round_judgements.session_id is 'The session of the round.';
comment on column raw.round_judgements.run_number is 'The run of the round.';
comment on column raw.round_judgements.round is 'The round within the run, from 1.';
comment on column raw.round_judgements.judge_version is 'The judge version of this verdict (see raw.session_judgements).';
comment on column raw.round_judgements.echo_type is 'The verdict: EXPANDS, CONFIRMS, CIRCULAR, DIVERGENT or COLLAPSE.';
comment on column raw.round_judgements.n_words is 'Words in the completion.';
comment on column raw.round_judgements.distinct_ratio is 'Distinct words / words, 0 to 1.';
comment on column raw.round_judgements.nonletter_ratio is 'Share of characters that are not letters, 0 to 1.';
comment on column raw.round_judgements.content_words is 'Content (non-stop) words in the completion.';
comment on column raw.round_judgements.new_stems is 'Word stems not seen earlier in the chain.';
comment on column raw.round_judgements.novelty is 'Novelty against the texts before it in the chain, 0 to 1.';
comment on column raw.round_judgements.sim_term is 'Cosine similarity with the framed term.';
comment on column raw.round_judgements.sim_prev is 'Cosine similarity with the round''s prompt.';
comment on column raw.round_judgements.sim_ref is 'Cosine similarity with the reference meaning; NULL in frame mode.';

grant select, insert on raw.session_judgements, raw.round_judgements to nyx_collector;
