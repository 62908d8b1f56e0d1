create table effects (
    id bigserial primary key,
    event_id uuid not null,
    order_id text not null
);

-- Orders listed here break a rule until they are removed (for replay tests).
create table blocked (order_id text primary key);
