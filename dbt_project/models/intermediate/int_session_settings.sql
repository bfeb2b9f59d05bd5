-- One row per session: its settings key, a fingerprint of everything that changes what is
-- measured (var settings_parts: the model and its revision, backend, prompt template, sampling,
-- rounds, tokens, early stopping and the judge), a readable rendering of it, and its pool key:
-- the term, the settings key and the reference meaning the judge used (its glossary row). Only
-- sessions of one pool are pooled; only pools of one settings key are compared across terms.

with

sessions as (

    select * from {{ ref('stg_probe_sessions') }}

),

glossary as (

    select * from {{ ref('stg_glossary') }}

),

keyed as (

    select
        sessions.session_id,
        sessions.term,
        md5(jsonb_build_array(
            {%- for part in var('settings_parts') %}
                sessions.{{ part }}{{ "," if not loop.last }}
            {%- endfor %}
        )::text) as settings_key,
        sessions.glossary_id,
        glossary.reference_version,
        {%- for part in var('settings_parts') %}
            sessions.{{ part }},
        {%- endfor %}
        concat_ws(
            ' ',
            sessions.model_name,
            '@' || left(sessions.model_revision, 12),
            sessions.backend,
            'T=' || sessions.temperature,
            'top-p=' || sessions.top_p,
            'top-k=' || coalesce(sessions.top_k::text, 'off'),
            sessions.max_rounds || ' rounds',
            sessions.max_new_tokens || ' tokens',
            case when sessions.stop_early then 'stop-early' else 'full-chains' end,
            'judge=' || sessions.judge_version || '/' || sessions.judge_mode || '/' || sessions.encoder,
            'prompt#' || left(md5(sessions.prompt_template), 8)
        ) as settings
    from sessions
    left join glossary on sessions.glossary_id = glossary.glossary_id

),

final as (

    select
        keyed.*,
        md5(jsonb_build_array(keyed.term, keyed.settings_key, keyed.glossary_id)::text) as pool_key
    from keyed

)

select * from final
