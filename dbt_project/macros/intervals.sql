{# 95% intervals from counts and moments (docs/statistics.md). z is var('z95') = 1.959963984540054. #}

{# Wilson score interval of a share count / n, lower bound (NULL when n = 0), clamped to [0, 1] #}
{% macro wilson_low(count, n) -%}
    {{ _wilson(count, n, '-') }}
{%- endmacro %}

{# Wilson score interval of a share count / n, upper bound (NULL when n = 0), clamped to [0, 1] #}
{% macro wilson_high(count, n) -%}
    {{ _wilson(count, n, '+') }}
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

{# The normal-approximation 95% interval of a mean: mean -/+ z * sqrt(variance / n); NULL when n = 0
   (and, as the variance is, when n < 2) #}
{% macro mean_ci_low(mean, variance, n) -%}
    ({{ mean }} - {{ var('z95') }} * sqrt({{ variance }} / nullif(({{ n }})::double precision, 0)))
{%- endmacro %}

{% macro mean_ci_high(mean, variance, n) -%}
    ({{ mean }} + {{ var('z95') }} * sqrt({{ variance }} / nullif(({{ n }})::double precision, 0)))
{%- endmacro %}
