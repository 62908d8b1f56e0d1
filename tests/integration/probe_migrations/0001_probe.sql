create table effects (
    id bigserial primary key,
    event_id uuid not null,
    order_id text not null
);
