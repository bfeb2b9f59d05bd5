{# Test `where` config: the keyword latest_batch keeps the rows of the tested table's newest load (loaded_at). #}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where == 'latest_batch' -%}
        {%- set where = 'loaded_at = (select max(latest.loaded_at) from ' ~ relation ~ ' as latest)' -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') as dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
