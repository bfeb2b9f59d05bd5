{#- Agreement between two readers of the same rounds (the judge and a human, or two humans). -#}

{% macro cohen_kappa(relation, group_cols, a_col, b_col) -%}
{#- One row per group of `relation` (one row per doubly read round): pairs, agreed, observed and
    chance agreement, and Cohen's kappa = (p_o - p_e) / (1 - p_e), with
    p_e = sum over types of (share of a) * (share of b). Null when p_e = 1 (both gave one type
    only, and the same one): kappa is undefined there. -#}
{%- set g = group_cols | join(', ') -%}
    with

    kappa_pairs as (
        select
            {{ g }},
            {{ a_col }} as type_a,
            {{ b_col }} as type_b
        from {{ relation }}
    ),

    kappa_totals as (
        select
            {{ g }},
            count(*)::integer as pairs,
            sum(case when type_a = type_b then 1 else 0 end)::integer as agreed
        from kappa_pairs
        group by {{ g }}
    ),

    kappa_margin_a as (
        select
            {{ g }},
            type_a as echo_type,
            count(*)::double precision as n
        from kappa_pairs
        group by {{ g }}, type_a
    ),

    kappa_margin_b as (
        select
            {{ g }},
            type_b as echo_type,
            count(*)::double precision as n
        from kappa_pairs
        group by {{ g }}, type_b
    ),

    kappa_chance as (
        select
            {{ g }},
            sum(kappa_margin_a.n * kappa_margin_b.n) as product
        from kappa_margin_a
        inner join kappa_margin_b using ({{ g }}, echo_type)
        group by {{ g }}
    ),

    kappa_shares as (
        select
            kappa_totals.*,
            kappa_totals.agreed::double precision / kappa_totals.pairs as observed_agreement,
            coalesce(kappa_chance.product, 0)
            / (kappa_totals.pairs::double precision * kappa_totals.pairs) as chance_agreement
        from kappa_totals
        left join kappa_chance using ({{ g }})
    )

    select
        kappa_shares.*,
        case
            when kappa_shares.chance_agreement < 1
                then
                    (kappa_shares.observed_agreement - kappa_shares.chance_agreement)
                    / (1 - kappa_shares.chance_agreement)
        end as kappa
    from kappa_shares
{%- endmacro %}


{% macro judge_agreement_by(group_cols) -%}
{#- The judge's agreement with human labels, one row per group (it must include model_name, term
    and judge_version). The weighted accuracies stand for every round of that model, term and
    judge version: each stratum (round, the judge's type) counts by its size, its accuracy
    estimated from its labelled rounds (post-stratification; strata with no label are left out,
    and `rounds_in_labelled_strata` says how much of the population that covers). -#}
{%- set g = group_cols | join(', ') -%}
    with

    labelled as (
        select * from {{ ref('int_labelled_verdicts') }}
    ),

    population as (
        select
            model_name,
            term,
            judge_version,
            round_number,
            echo_type as judge_type,
            rounds as stratum_rounds
        from {{ ref('int_verdict_strata') }}
    ),

    population_total as (
        select
            model_name,
            term,
            judge_version,
            sum(stratum_rounds)::integer as rounds_judged
        from population
        group by model_name, term, judge_version
    ),

    totals as (
        select
            {{ g }},
            count(*)::integer as labels,
            count(distinct (session_id, run_number, round_number))::integer as labelled_rounds,
            count(distinct labeller)::integer as labellers,
            count(distinct session_id)::integer as labelled_sessions,
            sum(case when agrees then 1 else 0 end)::integer as agreed,
            sum(case when continue_stop_agrees then 1 else 0 end)::integer as continue_stop_agreed
        from labelled
        group by {{ g }}
    ),

    cells as (
        select
            {{ g }},
            label,
            judge_type,
            count(*)::integer as n
        from labelled
        group by {{ g }}, label, judge_type
    ),

    confusion as (
        select
            {{ g }},
            jsonb_object_agg(label || '>' || judge_type, n order by label, judge_type) as confusion
        from cells
        group by {{ g }}
    ),

    kappa as (
        {{ cohen_kappa(ref('int_labelled_verdicts'), group_cols, 'label', 'judge_type') }}
    ),

    strata as (
        select
            {{ g }},
            round_number,
            judge_type,
            avg(case when agrees then 1.0 else 0.0 end)::double precision as stratum_accuracy,
            avg(case when continue_stop_agrees then 1.0 else 0.0 end)::double precision
                as stratum_continue_stop_accuracy
        from labelled
        group by {{ g }}, round_number, judge_type
    ),

    weighted as (
        select
            {{ g }},
            sum(population.stratum_rounds * strata.stratum_accuracy)
            / sum(population.stratum_rounds) as accuracy_weighted,
            sum(population.stratum_rounds * strata.stratum_continue_stop_accuracy)
            / sum(population.stratum_rounds) as continue_stop_accuracy_weighted,
            sum(population.stratum_rounds)::integer as rounds_in_labelled_strata
        from strata
        inner join population using (model_name, term, judge_version, round_number, judge_type)
        group by {{ g }}
    )

    select
        {% for col in group_cols %}totals.{{ col }},
        {% endfor -%}
        totals.labels,
        totals.labelled_rounds,
        totals.labellers,
        totals.labelled_sessions,
        totals.agreed,
        totals.agreed::double precision / totals.labels as accuracy,
        kappa.chance_agreement,
        kappa.kappa,
        totals.continue_stop_agreed,
        totals.continue_stop_agreed::double precision / totals.labels as continue_stop_accuracy,
        weighted.accuracy_weighted,
        weighted.continue_stop_accuracy_weighted,
        population_total.rounds_judged,
        weighted.rounds_in_labelled_strata,
        confusion.confusion
    from totals
    inner join kappa using ({{ g }})
    inner join confusion using ({{ g }})
    left join weighted using ({{ g }})
    inner join population_total using (model_name, term, judge_version)
{%- endmacro %}


{% macro judge_agreement_columns(agreement) -%}
{#- The pooled agreement columns session_stats and term_depth_distribution carry, from a row of
    int_judge_agreement_by_term aliased `agreement` (null where nothing is labelled). -#}
coalesce({{ agreement }}.labelled_rounds, 0) as labelled_rounds,
        {{ agreement }}.labellers as judge_labellers,
        {{ agreement }}.accuracy as judge_accuracy,
        {{ agreement }}.kappa as judge_kappa,
        {{ agreement }}.continue_stop_accuracy as judge_continue_stop_accuracy,
        {{ agreement }}.accuracy_weighted as judge_accuracy_weighted
{%- endmacro %}


{% macro judge_agreement_join(agreement, rows) -%}
{#- The left join that gives each row of `rows` (with model_name, term and judge_version) its
    row of int_judge_agreement_by_term aliased `agreement`, for judge_agreement_columns. -#}
left join {{ agreement }}
        on
            {{ rows }}.model_name = {{ agreement }}.model_name
            and {{ rows }}.term = {{ agreement }}.term
            and {{ rows }}.judge_version = {{ agreement }}.judge_version
{%- endmacro %}
