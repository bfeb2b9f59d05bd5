-- One row per human label and judge version that judged the labelled round: the human's type, the
-- judge's, and whether they agree on the type and on the decision that sets depth (continue:
-- EXPANDS or CONFIRMS; stop: the other three).

with

labels as (

    select * from {{ ref('stg_round_labels') }}

),

verdicts as (

    select * from {{ ref('int_round_verdicts') }}

),

final as (

    select
        verdicts.model_name,
        verdicts.term,
        verdicts.judge_version,
        labels.labeller,
        labels.session_id,
        labels.run_number,
        labels.round_number,
        labels.label,
        labels.labelled_at,
        verdicts.echo_type as judge_type,
        verdicts.is_original,
        labels.label = verdicts.echo_type as agrees,
        (labels.label in ('EXPANDS', 'CONFIRMS')) = (verdicts.echo_type in ('EXPANDS', 'CONFIRMS'))
            as continue_stop_agrees
    from labels
    inner join verdicts
        on
            labels.session_id = verdicts.session_id
            and labels.run_number = verdicts.run_number
            and labels.round_number = verdicts.round_number

)

select * from final
