-- Every order accepted, once; the same order id with a different body is a conflict.
create table orders (
    order_id text primary key,
    event_id uuid not null,
    body_sha256 text not null,
    outbox_id bigint not null,
    received_at timestamptz not null
);

-- Every webhook delivery id seen: a repeated id is answered from here and not published again.
create table webhook_receipts (
    webhook_id text primary key,
    order_id text not null references orders (order_id),
    received_at timestamptz not null
);
