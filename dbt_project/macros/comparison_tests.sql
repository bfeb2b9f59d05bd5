{#
    Tests of two depth distributions given as counts {a}0..{a}3 and {b}0..{b}3 with totals
    {a}_runs / {b}_runs (column prefixes), and of their mean depths (docs/statistics.md).
#}

{#
    The prefixed inputs of those tests from two rows aliased a and b of a relation with depth_0..3,
    depth_mean, depth_variance, max_rounds and a run count named `runs`: a_runs, a0..a3, a_mean,
    a_variance, a_max_rounds and the same for b.
#}
{% macro pair_input_columns(a, b, runs='runs') -%}
        {{ a }}.{{ runs }} as a_runs,
        {{ b }}.{{ runs }} as b_runs,
        {%- for d in range(4) %}
        {{ a }}.depth_{{ d }} as a{{ d }},
        {{ b }}.depth_{{ d }} as b{{ d }},
        {%- endfor %}
        {{ a }}.depth_mean as a_mean,
        {{ b }}.depth_mean as b_mean,
        {{ a }}.depth_variance as a_variance,
        {{ b }}.depth_variance as b_variance,
        {{ a }}.max_rounds as a_max_rounds,
        {{ b }}.max_rounds as b_max_rounds
{%- endmacro %}

{# Expected count of depth d in row x under independence, double precision #}
{% macro _expected(x, a, b, d) -%}
    ({{ x }}_runs::double precision * ({{ a }}{{ d }} + {{ b }}{{ d }}) / nullif({{ a }}_runs + {{ b }}_runs, 0))
{%- endmacro %}

{# Pearson's chi-square of the 2 x 4 table; depths empty in both rows are left out; NULL when a row is empty #}
{% macro chi_square_statistic(a, b) -%}
    (
        {%- for d in range(4) %}
        case
            when {{ a }}{{ d }} + {{ b }}{{ d }} > 0
                then power({{ a }}{{ d }} - {{ _expected(a, a, b, d) }}, 2) / nullif({{ _expected(a, a, b, d) }}, 0)
                + power({{ b }}{{ d }} - {{ _expected(b, a, b, d) }}, 2) / nullif({{ _expected(b, a, b, d) }}, 0)
            else 0.0
        end{{ " +" if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{# Degrees of freedom of that table: non-empty depths - 1 #}
{% macro chi_square_df(a, b) -%}
    (
        {%- for d in range(4) %}
        (case when {{ a }}{{ d }} + {{ b }}{{ d }} > 0 then 1 else 0 end){{ " +" if not loop.last }}
        {%- endfor %}
        - 1
    )
{%- endmacro %}

{# The smallest expected count over the non-empty depths of both rows #}
{% macro min_expected_count(a, b) -%}
    least(
        {%- for d in range(4) %}
        case when {{ a }}{{ d }} + {{ b }}{{ d }} > 0 then least({{ _expected(a, a, b, d) }}, {{ _expected(b, a, b, d) }}) end
        {{- "," if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{# Freeman-Halton exact p of the table (NULL when it has too many tables for its margins) #}
{% macro exact_test_p(a, b) -%}
    stats.exact_2xk_p(
        array[{{ a }}0, {{ a }}1, {{ a }}2, {{ a }}3]::integer[],
        array[{{ b }}0, {{ b }}1, {{ b }}2, {{ b }}3]::integer[],
        {{ var('exact_test_max_tables') }}
    )
{%- endmacro %}

{# Welch's degrees of freedom for the difference of two means; NULL when a side has fewer than 2 runs #}
{% macro welch_df(var_a, n_a, var_b, n_b) -%}
    {%- set a = '(' ~ var_a ~ ' / nullif(' ~ n_a ~ ', 0))' -%}
    {%- set b = '(' ~ var_b ~ ' / nullif(' ~ n_b ~ ', 0))' -%}
    (
        power({{ a }} + {{ b }}, 2)
        / nullif(
            power({{ a }}, 2) / nullif({{ n_a }} - 1, 0) + power({{ b }}, 2) / nullif({{ n_b }} - 1, 0),
            0
        )
    )
{%- endmacro %}

{#
    The variance Welch's test uses for side x: the sample variance floored as for the interval of
    one mean (stats.depth_variance_floored, migration 0014), so two samples without spread still
    get a standard error; NULL below 2 runs (no t-test then).
#}
{% macro welch_variance(x) -%}
    (case when {{ x }}_runs >= 2 then stats.depth_variance_floored({{ x }}_variance, ({{ x }}_runs)::bigint,
        ({{ x }}_max_rounds)::double precision) end)
{%- endmacro %}

{#
    The columns every comparison of two depth distributions carries, from a relation with the
    prefixed counts ({a}0..{a}3, {a}_runs), means ({a}_mean), variances ({a}_variance) and round
    limits ({a}_max_rounds): chi-square with df and p, the exact p where expected counts are small,
    the chosen distribution p and its test, and Welch's t-test of the mean difference.
#}
{% macro distribution_test_columns(a, b) -%}
        {{ chi_square_statistic(a, b) }} as chi_square,
        {{ chi_square_df(a, b) }}::integer as chi_square_df,
        {{ min_expected_count(a, b) }} as min_expected_count,
        {{ a }}_mean - {{ b }}_mean as depth_mean_diff,
        sqrt(
            {{ welch_variance(a) }} / nullif({{ a }}_runs, 0) + {{ welch_variance(b) }} / nullif({{ b }}_runs, 0)
        ) as depth_mean_diff_se,
        {{ welch_df(welch_variance(a), a ~ '_runs', welch_variance(b), b ~ '_runs') }} as depth_mean_welch_df
{%- endmacro %}

{# p-values from the columns of distribution_test_columns (a second CTE: they refer to those) #}
{% macro distribution_p_columns(a, b) -%}
        case when chi_square_df = 0 then 1.0 else stats.chi2_sf(chi_square, chi_square_df) end as chi_square_p,
        min_expected_count < {{ var('small_expected_count') }} as small_expected_counts,
        case
            when min_expected_count < {{ var('small_expected_count') }} then {{ exact_test_p(a, b) }}
        end as exact_p,
        case
            when depth_mean_diff_se > 0 then stats.t_p_two_sided(depth_mean_diff / depth_mean_diff_se, depth_mean_welch_df)
        end as depth_mean_p
{%- endmacro %}

{# The distribution p the marts report: exact where expected counts are small and it could be computed #}
{% macro chosen_distribution_columns() -%}
        coalesce(exact_p, chi_square_p) as depth_distribution_p,
        case
            when exact_p is not null then 'exact'
            when small_expected_counts then 'chi-square (small expected counts; exact test too large)'
            else 'chi-square'
        end as depth_distribution_test
{%- endmacro %}

{#
    Holm and Benjamini-Hochberg adjustment of p within a family (partition). Two steps, as window
    functions cannot nest: p_rank_columns in one CTE, p_adjusted_columns in the next.
#}
{% macro p_rank_columns(p, partition_by) -%}
        count({{ p }}) over (partition by {{ partition_by }}) as {{ p }}_family_size,
        row_number() over (partition by {{ partition_by }} order by {{ p }} asc nulls last) as {{ p }}_rank
{%- endmacro %}

{% macro p_adjusted_columns(p, partition_by) -%}
        case when {{ p }} is not null then least(1.0, max(({{ p }}_family_size - {{ p }}_rank + 1) * {{ p }}) over (
            partition by {{ partition_by }} order by {{ p }} asc nulls last, {{ p }}_rank
            rows between unbounded preceding and current row
        )) end as {{ p }}_holm,
        case when {{ p }} is not null then least(1.0, min({{ p }}_family_size::double precision / {{ p }}_rank * {{ p }}) over (
            partition by {{ partition_by }} order by {{ p }} asc nulls last, {{ p }}_rank
            rows between current row and unbounded following
        )) end as {{ p }}_bh
{%- endmacro %}

{#
    The CTEs from a CTE `tested` (rows with distribution_test_columns over prefixes a and b) to
    `adjusted`: p-values, the distribution test chosen, and Holm and Benjamini-Hochberg within
    `family` (columns). The caller adds the comma after them.
#}
{% macro p_value_ctes(tested, family, a='a', b='b') -%}
with_p as (

    select
        {{ tested }}.*,
        {{ distribution_p_columns(a, b) }}
    from {{ tested }}

),

chosen as (

    select
        with_p.*,
        {{ chosen_distribution_columns() }}
    from with_p

),

ranked as (

    select
        chosen.*,
        {{ p_rank_columns('depth_distribution_p', family) }},
        {{ p_rank_columns('depth_mean_p', family) }}
    from chosen

),

adjusted as (

    select
        ranked.*,
        {{ p_adjusted_columns('depth_distribution_p', family) }},
        {{ p_adjusted_columns('depth_mean_p', family) }}
    from ranked

)
{%- endmacro %}
