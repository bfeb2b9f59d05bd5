-- depends: 0014_mean_depth_interval
-- One name for what judged a session's rounds: `judge_version`, as raw.session_judgements and
-- raw.round_judgements (0007) already call it, through staging and every mart. The column was named
-- for the first judge's rules (rules-1); since 0006 it holds any judge version (ref-3, ref-2, llm-1,
-- rules-1). A rename keeps the values, the NOT NULL, the settings key and every dependent view.
--
-- A collector older than this migration names the old column in its INSERT and fails with
-- PostgreSQL's one-line "column classifier_version ... does not exist" before it writes anything;
-- collectors from this one on refuse a database whose schema is newer than they know (Store.migrate).

alter table raw.probe_sessions rename column classifier_version to judge_version;

comment on column raw.probe_sessions.judge_version is
    'The judge version that typed every round of the session (ref-3, ref-2, llm-1, rules-1); the marts'
    ' pool and compare sessions only within one judge version.';
