-- Undo 0002_messages.
drop table public.nimmerverse_to_partnership_messages;
drop table public.partnership_to_nimmerverse_messages;
