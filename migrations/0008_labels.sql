-- depends: 0007_rejudgements
-- Human labels of stored rounds (nyx-collect label, label import): the researchers' own reading of
-- the lab's chains, the check of the judge on the model and terms it is actually used on. One
-- label per labeller and round; labelling again replaces it. The judge's verdicts stay where they
-- are (raw.probe_rounds, raw.round_judgements): the agreement is computed in dbt.

create table raw.round_labels (
    session_id uuid not null,
    run_number integer not null,
    round smallint not null,
    labeller text not null,
    label text not null,
    labelled_at timestamptz not null default now(),
    note text,

    constraint round_labels_pkey primary key (session_id, run_number, round, labeller),
    constraint round_labels_round_fkey foreign key (session_id, run_number, round)
        references raw.probe_rounds (session_id, run_number, round) on delete cascade,
    constraint round_labels_label_known check (
        label in ('EXPANDS', 'CONFIRMS', 'CIRCULAR', 'DIVERGENT', 'COLLAPSE')
    ),
    constraint round_labels_labeller_not_blank check (btrim(labeller) <> ''),
    constraint round_labels_labeller_short check (char_length(labeller) <= 200),
    constraint round_labels_note_not_blank check (note is null or btrim(note) <> ''),
    constraint round_labels_note_short check (note is null or char_length(note) <= 2000)
);

create index round_labels_labeller_idx on raw.round_labels (labeller);

comment on table raw.round_labels is
    'A human reader''s echo type for a stored round; one per labeller and round (relabelling replaces it).';
comment on column raw.round_labels.session_id is 'The session of the labelled round.';
comment on column raw.round_labels.run_number is 'The run of the labelled round.';
comment on column raw.round_labels.round is 'The round within the run, from 1.';
comment on column raw.round_labels.labeller is 'Who labelled it (default: the login name).';
comment on column raw.round_labels.label is 'The human''s type: EXPANDS, CONFIRMS, CIRCULAR, DIVERGENT or COLLAPSE.';
comment on column raw.round_labels.labelled_at is 'When the label was given (or last replaced).';
comment on column raw.round_labels.note is 'An optional remark of the labeller.';

grant select, insert, update, delete on raw.round_labels to nyx_collector;
