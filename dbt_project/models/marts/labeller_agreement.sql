-- Agreement between two labellers on the rounds both labelled, one row per model, term and pair
-- of labellers (the first in alphabetical order as labeller_a): the ceiling a judge can be held
-- to, since careful readers do not agree perfectly either.

with

labels as (

    select * from {{ ref('stg_round_labels') }}

),

sessions as (

    select * from {{ ref('stg_probe_sessions') }}

),

pairs as (

    select
        sessions.model_name,
        sessions.term,
        a.labeller as labeller_a,
        b.labeller as labeller_b,
        a.label as label_a,
        b.label as label_b,
        (a.label in ('EXPANDS', 'CONFIRMS')) = (b.label in ('EXPANDS', 'CONFIRMS')) as continue_stop_agrees
    from labels as a
    inner join labels as b
        on
            a.session_id = b.session_id
            and a.run_number = b.run_number
            and a.round_number = b.round_number
            and a.labeller < b.labeller
    inner join sessions on a.session_id = sessions.session_id

),

kappa as (

    {{ cohen_kappa('pairs', ['model_name', 'term', 'labeller_a', 'labeller_b'], 'label_a', 'label_b') }}

),

continue_stop as (

    select
        model_name,
        term,
        labeller_a,
        labeller_b,
        avg(case when continue_stop_agrees then 1.0 else 0.0 end)::double precision as continue_stop_agreement
    from pairs
    group by model_name, term, labeller_a, labeller_b

),

final as (

    select
        kappa.model_name,
        kappa.term,
        kappa.labeller_a,
        kappa.labeller_b,
        kappa.pairs as shared_rounds,
        kappa.agreed,
        kappa.observed_agreement as agreement,
        kappa.chance_agreement,
        kappa.kappa,
        continue_stop.continue_stop_agreement
    from kappa
    inner join continue_stop
        on
            kappa.model_name = continue_stop.model_name
            and kappa.term = continue_stop.term
            and kappa.labeller_a = continue_stop.labeller_a
            and kappa.labeller_b = continue_stop.labeller_b

)

select * from final
