-- Chain-pattern shares sum to 1 per term and model; echo-type shares per round number likewise.
select
    'chain_patterns' as mart,
    pool_key,
    term,
    model_name,
    null::integer as round_number,
    sum(share) as total
from {{ ref('chain_patterns') }}
group by pool_key, term, model_name
having abs(sum(share) - 1) > 1e-9

union all

select
    'echo_type_by_round' as mart,
    pool_key,
    term,
    model_name,
    round_number,
    sum(share) as total
from {{ ref('echo_type_by_round') }}
group by pool_key, term, model_name, round_number
having abs(sum(share) - 1) > 1e-9
