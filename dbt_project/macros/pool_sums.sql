{# A per-session counter summed over each pool's sessions (int_session_settings): one row per pool and keys. #}

{#
    The body of a `summed` CTE: the integer column count_column of the per-session counts in the CTE
    `counts`, summed per pool (a term's sessions under one settings key) and keys, beside the pool's
    term, model, settings key and settings from the CTE `sessions` (int_session_settings).
#}
{% macro summed_per_pool(keys, count_column, counts='counts', sessions='sessions') -%}
    select
        {{ sessions }}.term,
        {{ sessions }}.model_name,
        {{ sessions }}.pool_key,
        {{ sessions }}.settings_key,
        {{ sessions }}.settings,
        {%- for key in keys %}
        {{ counts }}.{{ key }},
        {%- endfor %}
        sum({{ counts }}.{{ count_column }})::integer as {{ count_column }}
    from {{ counts }}
    inner join {{ sessions }} on {{ counts }}.session_id = {{ sessions }}.session_id
    group by
        {{ sessions }}.term, {{ sessions }}.model_name, {{ sessions }}.pool_key, {{ sessions }}.settings_key,
        {{ sessions }}.settings{% for key in keys %}, {{ counts }}.{{ key }}{% endfor %}
{%- endmacro %}
