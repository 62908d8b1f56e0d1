-- Transactional outbox: rows are written with the state change and published by the relay.
create table outbox (
    id bigserial primary key,
    topic text not null,
    key bytea,
    value bytea not null,
    headers jsonb not null, -- [[name, base64 value], ...]
    created_at timestamptz not null default now()
);

create function outbox_wake() returns trigger language plpgsql as $$
begin
    perform pg_notify('entitle_outbox', '');
    return null;
end $$;

create trigger outbox_wake after insert on outbox
    for each statement execute function outbox_wake();

-- Inbox: one row per processed event and consumer; a redelivered event finds its row.
create table inbox (
    consumer text not null,
    source text not null,
    event_id uuid not null,
    processed_at timestamptz not null default now(),
    primary key (consumer, source, event_id)
);

-- Dead letters: the permanent failures of this service's consumer, kept for listing and replay.
create table dead_letters (
    id bigserial primary key,
    consumer text not null,
    topic text not null,
    partition int not null,
    "offset" bigint not null,
    key bytea,
    value bytea,
    headers jsonb not null, -- [[name, base64 value], ...]
    event_id text,
    event_type text,
    error_class text not null,
    error_message text not null,
    created_at timestamptz not null default now(),
    replayed_at timestamptz,
    unique (consumer, topic, partition, "offset")
);
