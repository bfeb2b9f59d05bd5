-- depends: 0012_glosses
-- The instrument beside the depth: a judge that is a served language model (llm-1, an
-- OpenAI-compatible endpoint) records what measured each session and each re-judgement, as the
-- server reported it: the model (its id in /v1/models and in the replies, with what the server says
-- of it), the prompt version and the fingerprint of its wording, and the decoding settings
-- (temperature 0, max tokens, how the label is read, the grammar if any). The judge model and the
-- prompt version are also in `encoder`, which is part of the settings key, so sessions of two judge
-- models never pool. NULL for the encoder judges (ref-*, rules-1): their settings are their version's
-- parameter files. nyx_collector may insert it and never update it (no column grant), so a session
-- keeps the instrument it was created with.

alter table raw.probe_sessions
    add column judge_settings jsonb;

alter table raw.probe_sessions
    add constraint sessions_judge_settings_shape check (
        judge_settings is null
        or (jsonb_typeof(judge_settings) = 'object'
            and judge_settings ?& array['model', 'prompt_version', 'decoding']
            and octet_length(judge_settings::text) <= 16384)
    );

comment on column raw.probe_sessions.judge_settings is
    'A served judge (llm-1): its model as the server reports it, prompt version and hash, decoding '
    'settings and how the label is read (an object); NULL for the encoder judges.';

alter table raw.session_judgements
    add column judge_settings jsonb;

alter table raw.session_judgements
    add constraint session_judgements_judge_settings_shape check (
        judge_settings is null
        or (jsonb_typeof(judge_settings) = 'object'
            and judge_settings ?& array['model', 'prompt_version', 'decoding']
            and octet_length(judge_settings::text) <= 16384)
    );

comment on column raw.session_judgements.judge_settings is
    'A served judge (llm-1): its model as the server reports it, prompt version and hash, decoding '
    'settings and how the label is read (an object); NULL for the encoder judges.';
