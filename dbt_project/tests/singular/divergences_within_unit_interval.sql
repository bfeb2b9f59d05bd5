-- Jensen-Shannon divergence (log base 2) and total variation distance lie in [0, 1], between
-- terms and between each session and its baseline.
select
    'term_comparison' as mart,
    model_name || ': ' || term_a || ' / ' || term_b as compared,
    js_divergence,
    total_variation
from {{ ref('term_comparison') }}
where
    js_divergence not between -1e-12 and 1 + 1e-12
    or total_variation not between -1e-12 and 1 + 1e-12
    or js_divergence is null
    or total_variation is null

union all

select
    'session_comparison' as mart,
    session_id::text as compared,
    js_divergence,
    total_variation
from {{ ref('session_comparison') }}
where
    js_divergence not between -1e-12 and 1 + 1e-12
    or total_variation not between -1e-12 and 1 + 1e-12
