-- depends: 0011_stopping_rule
-- Accepted short glosses beside each reference meaning (issue 19): the few short forms a right
-- answer often takes, per language: a translation, a synonym, a one-line gloss of a usual sense
-- ("sublation", "cancellation and preservation"; German "Aufheben", "Bewahrung"). A judge may
-- match a completion against them as well as against the reference. They belong to the version:
-- an entry whose glosses change is a new version, as a changed reference is.
--
-- Rows older than this migration keep working: they have no glosses (empty arrays).
-- Each gloss: not blank, no control characters, at most 200 characters; at most 20 per language;
-- a one-dimensional array from 1 without NULLs. The collector normalises glosses before they get
-- here (NFC, white space collapsed, duplicates dropped); these checks bind whoever writes.

-- How many elements of a text array match a regular expression (the per-element checks below;
-- a CHECK constraint cannot hold a subquery, an immutable function can).
create function raw.glosses_matching(glosses text [], pattern text) returns integer
language sql
immutable
parallel safe
return (select count(*)::integer from unnest(glosses) as g where g ~ pattern);

comment on function raw.glosses_matching(text [], text) is
    'How many elements of a gloss array match the regular expression (the CHECKs of raw.glossary''s glosses, 0012).';

alter table raw.glossary
    add column glosses text [] not null default '{}',
    add column glosses_de text [] not null default '{}';

alter table raw.glossary
    add constraint glossary_glosses_shape check (
        cardinality(glosses) = 0 or (array_ndims(glosses) = 1 and array_lower(glosses, 1) = 1)
    ),
    add constraint glossary_glosses_no_null check (
        case when array_ndims(glosses) = 1 then array_position(glosses, null) is null else true end
    ),
    add constraint glossary_glosses_count check (cardinality(glosses) <= 20),
    add constraint glossary_glosses_not_blank check (raw.glosses_matching(glosses, '^ *$') = 0),
    add constraint glossary_glosses_length check (raw.glosses_matching(glosses, '^.{201}') = 0),
    add constraint glossary_glosses_no_control check (
        raw.glosses_matching(glosses, '[\x01-\x1f\x7f-\x9f\u2028\u2029]') = 0
    ),
    add constraint glossary_glosses_de_shape check (
        cardinality(glosses_de) = 0 or (array_ndims(glosses_de) = 1 and array_lower(glosses_de, 1) = 1)
    ),
    add constraint glossary_glosses_de_no_null check (
        case when array_ndims(glosses_de) = 1 then array_position(glosses_de, null) is null else true end
    ),
    add constraint glossary_glosses_de_count check (cardinality(glosses_de) <= 20),
    add constraint glossary_glosses_de_not_blank check (raw.glosses_matching(glosses_de, '^ *$') = 0),
    add constraint glossary_glosses_de_length check (raw.glosses_matching(glosses_de, '^.{201}') = 0),
    add constraint glossary_glosses_de_no_control check (
        raw.glosses_matching(glosses_de, '[\x01-\x1f\x7f-\x9f\u2028\u2029]') = 0
    );

comment on column raw.glossary.glosses is
    'Accepted short English glosses of the term (a translation, synonyms, a few words per usual sense), in order; empty when none.';
comment on column raw.glossary.glosses_de is
    'Accepted short German glosses of the term, in order; empty when none.';

-- The collector keeps select and insert on raw.glossary (0006); the grant covers the new columns.
