{# Fails for every group whose column sums to something other than 1 (within tolerance). #}
{% test sums_to_one(model, column_name, group_by, tolerance=0.000001) %}
    select {{ group_by | join(', ') }}, sum({{ column_name }}) as total
    from {{ model }}
    where {{ column_name }} is not null
    group by {{ group_by | join(', ') }}
    having abs(sum({{ column_name }}) - 1.0) > {{ tolerance }}
{% endtest %}
