{# 95% intervals from counts and moments (docs/statistics.md). z is var('z95') = 1.959963984540054. #}

{# Wilson score interval of a share count / n, lower bound (NULL when n = 0), clamped to [0, 1] #}
{% macro wilson_low(count, n) -%}
    {{ _wilson(count, n, '-') }}
{%- endmacro %}

{# Wilson score interval of a share count / n, upper bound (NULL when n = 0), clamped to [0, 1] #}
{% macro wilson_high(count, n) -%}
    {{ _wilson(count, n, '+') }}
{%- endmacro %}

{# var('z95') as a double precision argument of the interval functions in schema stats #}
{% macro z95_argument() -%}
    ({{ var('z95') }})::double precision
{%- endmacro %}

{% macro _wilson(count, n, sign) -%}
    {%- set z = var('z95') -%}
    {#- n is NULL where it is 0: every division by it is NULL, never an error (a session that has not
        committed its first run yet has n = 0), and greatest/least, which skip NULLs, are not reached #}
    {%- set nn = 'nullif((' ~ n ~ ')::double precision, 0)' -%}
    {%- set p = '((' ~ count ~ ')::double precision / ' ~ nn ~ ')' -%}
    case
        when not coalesce(({{ n }}) > 0, false) then null
        {#- at a share of 0 (or 1) the bound is exactly 0 (or 1); floating point alone can miss it by 1e-16 #}
        when ({{ count }}) = {{ '0' if sign == '-' else '(' ~ n ~ ')' }} then {{ '0.0' if sign == '-' else '1.0' }}
        else {{ 'greatest' if sign == '-' else 'least' }}(
        {{ '0.0' if sign == '-' else '1.0' }},
        (
            {{ p }} + {{ z }} * {{ z }} / (2.0 * {{ nn }})
            {{ sign }} {{ z }} * sqrt({{ p }} * (1.0 - {{ p }}) / {{ nn }} + {{ z }} * {{ z }} / (4.0 * {{ nn }} * {{ nn }}))
        ) / (1.0 + {{ z }} * {{ z }} / {{ nn }})
    ) end
{%- endmacro %}

{#
    The 95% interval of a mean depth (each depth in [0, max_rounds]): the normal interval with the
    variance floored at the rule of three and clipped to [0, max_rounds]. One definition, the
    functions stats.depth_mean_ci_low/high of migrations 0014 and 0016, which --until-ci uses as
    well (docs/statistics.md, "Intervals"), given z = var('z95'). NULL without runs.
#}
{% macro depth_mean_ci_low(mean, variance, n, max_rounds) -%}
    stats.depth_mean_ci_low(
        {{ mean }}, {{ variance }}, ({{ n }})::bigint, ({{ max_rounds }})::double precision, {{ z95_argument() }}
    )
{%- endmacro %}

{% macro depth_mean_ci_high(mean, variance, n, max_rounds) -%}
    stats.depth_mean_ci_high(
        {{ mean }}, {{ variance }}, ({{ n }})::bigint, ({{ max_rounds }})::double precision, {{ z95_argument() }}
    )
{%- endmacro %}

{# The columns depth_ci95_low and depth_ci95_high: the 95% interval of a mean depth (above) #}
{% macro depth_mean_interval_columns(mean, variance, n, max_rounds) -%}
    {{ depth_mean_ci_low(mean, variance, n, max_rounds) }} as depth_ci95_low,
        {{ depth_mean_ci_high(mean, variance, n, max_rounds) }} as depth_ci95_high
{%- endmacro %}
