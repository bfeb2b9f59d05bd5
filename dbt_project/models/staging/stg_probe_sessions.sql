with

source as (

    select * from {{ source('raw', 'probe_sessions') }}

),

renamed as (

    select
        ---------- ids
        session_id,
        glossary_id,

        ---------- text
        term,
        model_name,
        model_revision,
        device,
        dtype,
        backend,
        prompt_template,
        status,
        collector_version,
        judge_version,
        judge_mode,
        encoder,
        judge_settings,
        hostname,
        error,

        ---------- numerics
        temperature,
        top_p,
        top_k,
        max_rounds::integer as max_rounds,
        max_new_tokens,
        seed,
        batch_size,
        runs_requested,

        ---------- booleans
        status = 'completed' as is_completed,
        stop_early,
        queued,

        ---------- timestamps
        started_at,
        finished_at,
        extract(epoch from finished_at - started_at)::double precision as duration_s,

        ---------- stopping rule (0011): fixed, or until_ci with its target and why it stopped
        stopping_rule,
        target_ci_half_width,
        min_runs,
        stopped_reason

    from source

)

select * from renamed
