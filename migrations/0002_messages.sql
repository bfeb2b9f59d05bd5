-- depends: 0001_raw_schema
-- Messages between the partnership and the nimmerverse, one table per direction. The allowed
-- message types of each direction are enforced by the database.

create table public.partnership_to_nimmerverse_messages (
    id bigserial primary key,
    "timestamp" timestamptz not null default now(),
    message text not null,
    message_type varchar(50) not null,
    constraint p2n_message_not_blank check (btrim(message) <> ''),
    constraint p2n_message_type_known check (
        message_type in ('architecture_update', 'deployment_instruction', 'config_change', 'research_direction')
    )
);

create index partnership_to_nimmerverse_messages_timestamp_idx
    on public.partnership_to_nimmerverse_messages ("timestamp" desc);

comment on table public.partnership_to_nimmerverse_messages is
    'Messages from the partnership to the nimmerverse (architecture updates, deployment instructions, config changes, research directions).';

create table public.nimmerverse_to_partnership_messages (
    id bigserial primary key,
    "timestamp" timestamptz not null default now(),
    message text not null,
    message_type varchar(50) not null,
    constraint n2p_message_not_blank check (btrim(message) <> ''),
    constraint n2p_message_type_known check (
        message_type in ('status_report', 'discovery', 'question', 'milestone')
    )
);

create index nimmerverse_to_partnership_messages_timestamp_idx
    on public.nimmerverse_to_partnership_messages ("timestamp" desc);

comment on table public.nimmerverse_to_partnership_messages is
    'Messages from the nimmerverse to the partnership (status reports, discoveries, questions, milestones).';
