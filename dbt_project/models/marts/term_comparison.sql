-- Every pair of terms probed under one settings key (same model and revision, sampling, rounds,
-- prompt and judge; int_session_settings): the difference in mean depth with Welch's t-test,
-- Jensen-Shannon divergence (bits, 0..1) with a bootstrap 95% interval, total variation, and the
-- chi-square test of the 2 x 4 table of depth counts, with the exact test where expected counts
-- are small. A family is every pair under one settings key: Holm and Benjamini-Hochberg adjust
-- the p-values for its size (docs/statistics.md).

{{ pool_pair_statistics('a.settings_key = b.settings_key and a.term < b.term', 'settings_key_a') }}
