-- Undo 0012_glosses: the glossary loses its glosses (the references and their versions stay).
alter table raw.glossary
    drop column if exists glosses_de,
    drop column if exists glosses;
drop function if exists raw.glosses_matching(text [], text);
