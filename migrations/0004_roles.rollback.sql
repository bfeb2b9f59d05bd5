-- Undo 0004_roles: take the grants back (the cluster-wide roles stay; other databases may use them).
alter default privileges in schema staging, intermediate, marts, grafana revoke select on tables from nyx_analyst;
revoke all on all tables in schema staging, intermediate, marts, grafana from nyx_analyst;
revoke usage on schema staging, intermediate, marts, grafana from nyx_analyst;
revoke all on all tables in schema raw from nyx_collector;
revoke all on schema raw from nyx_collector;
revoke all on public.partnership_to_nimmerverse_messages, public.nimmerverse_to_partnership_messages,
    public._yoyo_migration, public._yoyo_version, public._yoyo_log, public.yoyo_lock from nyx_collector;
revoke all on sequence public.partnership_to_nimmerverse_messages_id_seq,
    public.nimmerverse_to_partnership_messages_id_seq from nyx_collector;
