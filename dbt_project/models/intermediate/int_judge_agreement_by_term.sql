-- The judge's agreement with every labeller together, one row per model, term and judge version:
-- what session_stats and term_depth_distribution show beside their numbers. Where two people
-- labelled the same round, both labels count.

{{ judge_agreement_by(['model_name', 'term', 'judge_version']) }}
