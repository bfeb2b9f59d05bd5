drop table if exists raw.round_judgements;
drop table if exists raw.session_judgements;
