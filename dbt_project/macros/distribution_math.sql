{# Depth-distribution statistics from depth counts, entropy and Jensen-Shannon terms (log base 2), safe ratios. #}

{# numerator / denominator as double precision, NULL when the denominator is 0 or NULL #}
{% macro safe_ratio(numerator, denominator) -%}
    ({{ numerator }})::double precision / nullif(({{ denominator }})::double precision, 0)
{%- endmacro %}

{# p * log2(p), with 0 * log2(0) taken as 0 #}
{% macro plogp(p) -%}
    (case when {{ p }} > 0 then {{ p }} * ln({{ p }}) / ln(2.0) else 0.0 end)
{%- endmacro %}

{# One category's contribution to the Jensen-Shannon divergence of P and Q in bits (sum it over categories) #}
{% macro js_divergence_term(p, q) -%}
    (
        0.5 * (case when {{ p }} > 0 then {{ p }} * ln({{ p }} / (({{ p }} + {{ q }}) / 2.0)) / ln(2.0) else 0.0 end)
        + 0.5 * (case when {{ q }} > 0 then {{ q }} * ln({{ q }} / (({{ p }} + {{ q }}) / 2.0)) / ln(2.0) else 0.0 end)
    )
{%- endmacro %}

{# Runs over the four depth counts: prefix 'depth_' gives depth_0 + depth_1 + depth_2 + depth_3 #}
{% macro depth_runs(prefix='depth_') -%}
    ({{ prefix }}0 + {{ prefix }}1 + {{ prefix }}2 + {{ prefix }}3)
{%- endmacro %}

{# Sum of the depths of the runs counted in depth_0..depth_3 #}
{% macro depth_sum(prefix='depth_') -%}
    ({{ prefix }}1 + 2 * {{ prefix }}2 + 3 * {{ prefix }}3)
{%- endmacro %}

{# Sum of the squared depths of the runs counted in depth_0..depth_3 #}
{% macro depth_sum_of_squares(prefix='depth_') -%}
    ({{ prefix }}1 + 4 * {{ prefix }}2 + 9 * {{ prefix }}3)
{%- endmacro %}

{# Mean (double precision) from a count n and a sum; NULL when n = 0 #}
{% macro mean_from_sums(n, total) -%}
    ({{ total }})::double precision / nullif(({{ n }})::double precision, 0)
{%- endmacro %}

{# Sample variance (as var_samp) from n, the sum and the sum of squares of integers; NULL when n < 2 #}
{% macro sample_variance_from_sums(n, total, total_of_squares) -%}
    (
        case
            when ({{ n }}) >= 2
                then
                    (
                        ({{ n }})::bigint * ({{ total_of_squares }})::bigint
                        - ({{ total }})::bigint * ({{ total }})::bigint
                    )::double precision
                    / (({{ n }})::double precision * (({{ n }}) - 1)::double precision)
        end
    )
{%- endmacro %}

{# The depth at 0-based rank k of the runs sorted by depth, from the counts depth_0..depth_3 #}
{% macro depth_at_rank(k, prefix='depth_') -%}
    (
        case
            when ({{ k }}) < {{ prefix }}0 then 0
            when ({{ k }}) < {{ prefix }}0 + {{ prefix }}1 then 1
            when ({{ k }}) < {{ prefix }}0 + {{ prefix }}1 + {{ prefix }}2 then 2
            else 3
        end
    )
{%- endmacro %}

{# Median depth as percentile_cont(0.5), from the counts depth_0..depth_3; NULL without runs #}
{% macro depth_median(prefix='depth_') -%}
    (
        case
            when {{ depth_runs(prefix) }} > 0
                then (
                    {{ depth_at_rank('(' ~ depth_runs(prefix) ~ ' - 1) / 2', prefix) }}
                    + {{ depth_at_rank(depth_runs(prefix) ~ ' / 2', prefix) }}
                )::double precision / 2.0
        end
    )
{%- endmacro %}

{# The four depth counts of a group of runs, as integer columns depth_0 .. depth_3 #}
{% macro depth_counts(depth='depth') -%}
    {%- for d in range(4) %}
        (count(*) filter (where {{ depth }} = {{ d }}))::integer as depth_{{ d }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}
