-- Undo 0013_judge_settings: the judges' recorded settings go.
alter table raw.session_judgements
    drop constraint if exists session_judgements_judge_settings_shape,
    drop column if exists judge_settings;

alter table raw.probe_sessions
    drop constraint if exists sessions_judge_settings_shape,
    drop column if exists judge_settings;
