-- One row per license maintenance knows of (a projection of licensing's events).
create table coverage (
    license_id uuid primary key,
    license_key text not null unique,
    product text not null,
    edition text not null,
    account_id text not null,
    contact_email text not null,
    plan text,
    purchased_at timestamptz not null,
    major_version int not null,
    perpetual boolean not null default false,
    status text not null default 'active',
    created_at timestamptz not null
);

create table coverage_periods (
    id bigserial primary key,
    license_id uuid not null references coverage (license_id),
    starts_at timestamptz not null,
    ends_at timestamptz not null,
    source text not null,
    order_id text,
    line_id text,
    check (ends_at > starts_at)
);
create index coverage_periods_license on coverage_periods (license_id, ends_at);
