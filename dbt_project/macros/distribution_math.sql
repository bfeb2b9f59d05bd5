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

{# The share of depth d: the column prefix ~ d, or (with n) that count over n #}
{% macro _share(prefix, d, n=none) -%}
    {%- if n is none -%}{{ prefix }}{{ d }}{%- else -%}{{ safe_ratio(prefix ~ d, n) }}{%- endif -%}
{%- endmacro %}

{#
    Shannon entropy in bits of the depth distribution whose shares are the columns prefix0..prefix3
    (or, with n, the counts prefix0..3 over n). 0 - sum rather than -sum: an entropy of 0 is 0, not -0.
#}
{% macro depth_entropy_bits(prefix, n=none) -%}
    (0.0 - (
        {%- for d in range(4) %}
        {{ plogp(_share(prefix, d, n)) }}{{ " +" if not loop.last }}
        {%- endfor %}
    ))
{%- endmacro %}

{# Jensen-Shannon divergence in bits of two depth distributions (shares, or counts over p_n and q_n) #}
{% macro js_divergence_of(p, q, p_n=none, q_n=none) -%}
    (
        {%- for d in range(4) %}
        {{ js_divergence_term(_share(p, d, p_n), _share(q, d, q_n)) }}{{ " +" if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{# Total variation distance of two depth distributions given by their share columns p0..p3, q0..q3 #}
{% macro total_variation_of(p, q) -%}
    0.5 * (
        {%- for d in range(4) %}
        abs({{ p }}{{ d }} - {{ q }}{{ d }}){{ " +" if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{# The columns depth_mean and depth_variance of the runs counted in prefix0..prefix3, n runs #}
{% macro depth_moment_columns(n, prefix='depth_') -%}
    {{ mean_from_sums(n, depth_sum(prefix)) }} as depth_mean,
        {{ sample_variance_from_sums(n, depth_sum(prefix), depth_sum_of_squares(prefix)) }} as depth_variance
{%- endmacro %}

{# The columns share_depth_0..3 (counts prefix0..3 over n), each with its Wilson 95% interval unless intervals=false #}
{% macro depth_share_columns(n, prefix='depth_', intervals=true) -%}
    {%- for d in range(4) %}
        {{ safe_ratio(prefix ~ d, n) }} as share_depth_{{ d }}
        {%- if intervals -%}
            ,
        {{ wilson_low(prefix ~ d, n) }} as share_depth_{{ d }}_ci95_low,
        {{ wilson_high(prefix ~ d, n) }} as share_depth_{{ d }}_ci95_high
        {%- endif -%}
        {{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}
