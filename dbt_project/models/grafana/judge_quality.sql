-- The judge's agreement with human labels for a Grafana table: one row per model, term, judge
-- version and labeller, and one row per model, term and judge version over every labeller
-- ("all labellers"), newest labels first.

with

by_labeller as (

    select * from {{ ref('judge_agreement') }}

),

pooled as (

    select * from {{ ref('int_judge_agreement_by_term') }}

),

labelled_at as (

    select
        model_name,
        term,
        judge_version,
        labeller,
        max(labelled_at) as last_labelled_at
    from {{ ref('int_labelled_verdicts') }}
    group by model_name, term, judge_version, labeller

),

rows_of_both as (

    select
        by_labeller.model_name,
        by_labeller.term,
        by_labeller.judge_version,
        by_labeller.labeller,
        by_labeller.labels,
        by_labeller.accuracy,
        by_labeller.accuracy_weighted,
        by_labeller.kappa,
        by_labeller.continue_stop_accuracy
    from by_labeller

    union all

    select
        pooled.model_name,
        pooled.term,
        pooled.judge_version,
        'all labellers' as labeller,
        pooled.labels,
        pooled.accuracy,
        pooled.accuracy_weighted,
        pooled.kappa,
        pooled.continue_stop_accuracy
    from pooled

),

final as (

    select
        rows_of_both.*,
        (
            select max(labelled_at.last_labelled_at)
            from labelled_at
            where
                labelled_at.model_name = rows_of_both.model_name
                and labelled_at.term = rows_of_both.term
                and labelled_at.judge_version = rows_of_both.judge_version
                and (rows_of_both.labeller = 'all labellers' or labelled_at.labeller = rows_of_both.labeller)
        ) as time
    from rows_of_both

)

select * from final
