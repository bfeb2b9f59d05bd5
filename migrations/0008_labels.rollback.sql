drop table if exists raw.round_labels;
