-- Undo 0003_semantic_variance.
drop table raw.session_semantic_variance;
