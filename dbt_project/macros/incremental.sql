{# Helpers of the incremental models: the load timestamp of a build and the watermarks that find new rows. #}

{# When this dbt invocation started, as timestamptz: the loaded_at of every row a build inserts #}
{% macro load_timestamp() -%}
    '{{ run_started_at }}'::timestamptz
{%- endmacro %}

{# max(column) of this model's table as a literal of sql_type (default when empty), so the planner can use an index #}
{% macro incremental_watermark(column, sql_type, default) -%}
    {%- set value = none -%}
    {%- if execute -%}
        {%- set existing = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
        {%- if column not in existing -%}
            {{ exceptions.raise_compiler_error(
                this ~ ' has no column ' ~ column ~ ' (built by an older version of the model): '
                ~ 'rebuild it with `dbt build --full-refresh`'
            ) }}
        {%- endif -%}
        {%- set result = run_query('select max(' ~ column ~ ')::text as value from ' ~ this) -%}
        {%- set value = result.columns[0].values()[0] -%}
    {%- endif -%}
    {%- if value is none -%}
        {{ default }}
    {%- else -%}
        '{{ value }}'::{{ sql_type }}
    {%- endif -%}
{%- endmacro %}

{# The rows of upstream loaded since this model's last build: all of them on a full build #}
{% macro loaded_since_last_build(upstream) -%}
    select * from {{ upstream }}
    {%- if is_incremental() %}
    where loaded_at > {{ incremental_watermark('loaded_at', 'timestamptz', "'-infinity'::timestamptz") }}
    {%- endif %}
{%- endmacro %}

{# True when every upstream row is newer than this model's newest loaded_at: upstream was rebuilt from scratch #}
{% macro upstream_rebuilt(upstream) -%}
    {%- set rebuilt = false -%}
    {%- if execute -%}
        {%- set sql -%}
            select coalesce(
                (select min(loaded_at) from {{ upstream }}) > (select max(loaded_at) from {{ this }}),
                false
            ) as rebuilt
        {%- endset -%}
        {%- set rebuilt = run_query(sql).columns[0].values()[0] -%}
    {%- endif -%}
    {{ return(rebuilt) }}
{%- endmacro %}

{#
    The previous_counts and merged CTEs of a per-session counter model: the counts already stored for
    the sessions in new_counts, added to the new ones. counts is one integer column (summed), or a list
    of the columns of new_counts after the keys and before loaded_at, in its order: a name is an integer
    summed, [name, aggregate, type] is merged with that aggregate and cast to type (none: no cast).
#}
{% macro added_to_previous_counts(keys, counts, rebuilt) -%}
{%- set columns = [] -%}
{%- for column in ([counts] if counts is string else counts) -%}
    {%- do columns.append([column, 'sum', 'integer'] if column is string else column) -%}
{%- endfor -%}
previous_counts as (

    {% if is_incremental() and not rebuilt %}
        select
            {{ keys | join(',\n            ') }},
            {%- for column in columns %}
            {{ column[0] }},
            {%- endfor %}
            loaded_at
        from {{ this }}
        where session_id in (select new_counts.session_id from new_counts)
    {% else %}
        select * from new_counts
        where false
    {% endif %}

),

merged as (

    select
        {{ keys | join(',\n        ') }},
        {%- for name, aggregate, type in columns %}
        {{ aggregate }}({{ name }}){{ '::' ~ type if type }} as {{ name }},
        {%- endfor %}
        max(loaded_at) as loaded_at
    from (
        select * from new_counts
        union all
        select * from previous_counts
    ) as counts
    group by {{ keys | join(', ') }}

)
{%- endmacro %}
