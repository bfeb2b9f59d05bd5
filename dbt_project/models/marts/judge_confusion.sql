-- The confusion matrix of the judge against human labels in long form (for Grafana's heat map):
-- one row per model, term, judge version, labeller, human type and judge type that occurs.

with

labelled as (

    select * from {{ ref('int_labelled_verdicts') }}

),

final as (

    select
        model_name,
        term,
        judge_version,
        labeller,
        label,
        judge_type,
        count(*)::integer as rounds
    from labelled
    group by model_name, term, judge_version, labeller, label, judge_type

)

select * from final
