-- Every license an order issues is delivered in one email, once all of them are ready.
create table license_digests (
    order_id text primary key,
    recipient text not null,
    expected int,
    reseller_email text,
    sent boolean not null default false,
    created_at timestamptz not null
);

create table license_digest_items (
    order_id text not null references license_digests (order_id),
    license_id text not null,
    product text not null,
    license_key text not null,
    ready boolean not null,
    coverage_ends_at timestamptz,
    primary key (order_id, license_id)
);
