-- The judge's agreement with human labels (raw.round_labels), one row per model, term, judge
-- version and labeller: labels given, accuracy and Cohen's kappa against the labeller,
-- continue/stop accuracy (the decision that sets depth), the same two accuracies weighted to
-- stand for all the rounds of that model and term (the sample is stratified over round and the
-- judge's type, which over-represents rare types), and the confusion counts ("HUMAN>JUDGE": n).
-- Every judge version that judged the labelled rounds has its row (the original and rejudge's).

{{ judge_agreement_by(['model_name', 'term', 'judge_version', 'labeller']) }}
