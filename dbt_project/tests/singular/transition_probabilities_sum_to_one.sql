-- For every term, model and previous type, the transition probabilities sum to 1.
select
    pool_key,
    term,
    model_name,
    from_echo_type,
    sum(probability) as total
from {{ ref('echo_type_transitions') }}
group by pool_key, term, model_name, from_echo_type
having abs(sum(probability) - 1) > 1e-9
