-- Every pair of pools of one term under different settings (or another reference meaning):
-- what `nyx-collect analyze TERM --by temperature` reads. differs_in names the settings parts
-- that differ; a clean comparison differs in one. The statistics are those of term_comparison;
-- a family is every pair of one term.

{{ pool_pair_statistics('a.term = b.term and a.pool_key < b.pool_key', 'term_a') }}
