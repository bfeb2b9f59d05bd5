{# Entropy, Jensen-Shannon and ratio helpers shared by the marts; all logarithms are base 2. #}

{# p * log2(p), with 0 * log2(0) taken as 0 #}
{% macro plogp(p) -%}
    (case when {{ p }} > 0 then {{ p }} * ln({{ p }}) / ln(2.0) else 0.0 end)
{%- endmacro %}

{# One category's contribution to the Jensen-Shannon divergence of P and Q (sum over categories) #}
{% macro js_divergence_term(p, q) -%}
    (
        0.5 * (case when {{ p }} > 0 then {{ p }} * ln({{ p }} / (({{ p }} + {{ q }}) / 2.0)) / ln(2.0) else 0.0 end)
        + 0.5 * (case when {{ q }} > 0 then {{ q }} * ln({{ q }} / (({{ p }} + {{ q }}) / 2.0)) / ln(2.0) else 0.0 end)
    )
{%- endmacro %}

{# numerator / denominator as double precision, NULL when the denominator is 0 or NULL #}
{% macro safe_ratio(numerator, denominator) -%}
    ({{ numerator }})::double precision / nullif(({{ denominator }})::double precision, 0)
{%- endmacro %}
