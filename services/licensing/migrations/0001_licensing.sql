create table accounts (
    account_id text primary key,
    company text not null,
    email text not null,
    reseller boolean not null default false,
    payment_mode text not null,
    created_at timestamptz not null
);

-- One row per order line handled, so a line never issues twice.
create table order_lines (
    order_id text not null,
    line_id text not null,
    outcome text not null,
    handled_at timestamptz not null,
    primary key (order_id, line_id)
);

create table licenses (
    license_id uuid primary key,
    license_key text not null unique,
    kind text not null,
    product text not null,
    edition text not null,
    sku text not null,
    account_id text not null,
    company text not null,
    contact_email text not null,
    reseller_account_id text,
    pooled boolean not null default false,
    order_id text not null,
    line_id text not null,
    purchased_at timestamptz not null,
    major_version int not null,
    expires_at timestamptz,
    auto_renew boolean not null default false,
    max_activations int,
    maintenance_plan text,
    status text not null default 'active',
    created_at timestamptz not null
);
create index licenses_account on licenses (account_id);
create index licenses_order on licenses (order_id);
