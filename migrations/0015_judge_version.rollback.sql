-- Undo 0015_judge_version: the column gets its first name back.
alter table raw.probe_sessions rename column judge_version to classifier_version;

comment on column raw.probe_sessions.classifier_version is
    'Version of the echo-type classifier rules used for every round.';
