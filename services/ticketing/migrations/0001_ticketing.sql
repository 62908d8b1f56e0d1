-- Projection of the entitlement facts ticketing needs, built from other
-- services' events; ticketing never reads their tables.

create table ent_licenses (
    license_id text primary key,
    account_id text not null,
    product text not null,
    kind text not null,
    status text not null default 'active',
    purchased_at timestamptz not null,
    expires_at timestamptz,
    major_version int not null default 0,
    updated_at timestamptz not null
);
create index ent_licenses_account on ent_licenses (account_id, product);

-- Maintenance coverage per license (may arrive before the license itself).
create table ent_coverage (
    license_id text primary key,
    account_id text not null,
    product text not null,
    covered boolean not null,
    ends_at timestamptz,
    perpetual boolean not null default false,
    updated_at timestamptz not null
);
create index ent_coverage_account on ent_coverage (account_id, product);

-- Support plans sold as order lines (SKU kind support_plan).
create table ent_support_plans (
    order_id text not null,
    line_id text not null,
    account_id text not null,
    product text not null,
    starts_at timestamptz not null,
    ends_at timestamptz,
    primary key (order_id, line_id)
);
create index ent_support_plans_account on ent_support_plans (account_id, product);

-- Incident credits granted by incident-pack order lines, and their uses (one per ticket).
create table ent_credit_grants (
    order_id text not null,
    line_id text not null,
    account_id text not null,
    product text not null,
    credits int not null,
    granted_at timestamptz not null,
    primary key (order_id, line_id)
);
create index ent_credit_grants_account on ent_credit_grants (account_id);

create table ent_partners (
    account_id text primary key,
    since timestamptz not null
);

create table ent_releases (
    product text not null,
    version text not null,
    major int not null,
    released_at timestamptz not null,
    primary key (product, version)
);

-- Tickets.
create sequence ticket_number_seq;

create table tickets (
    ticket_id text primary key,
    number text not null unique,
    account_id text not null,
    email text not null,
    license_key text,
    product text not null,
    version text not null,
    kind text not null,
    subject text not null,
    body text not null,
    tier text not null,
    status text not null,
    opened_at timestamptz not null,
    updated_at timestamptz not null,
    first_response_due timestamptz,
    awaiting_agent_since timestamptz,
    sla_check_at timestamptz,
    auto_close_at timestamptz,
    idempotency_key text,
    state jsonb not null,
    unique (account_id, idempotency_key)
);
create index tickets_account on tickets (account_id, opened_at);
create index tickets_status on tickets (status);
create index tickets_sla_check on tickets (sla_check_at) where sla_check_at is not null;
create index tickets_auto_close on tickets (auto_close_at) where auto_close_at is not null;

create table credit_uses (
    ticket_id text primary key references tickets (ticket_id),
    account_id text not null,
    used_at timestamptz not null
);
create index credit_uses_account on credit_uses (account_id);

-- Refused requests with an idempotency key: a retry does not emit a second rejection.
create table rejected_requests (
    account_id text not null,
    idempotency_key text not null,
    code text not null,
    rejected_at timestamptz not null,
    primary key (account_id, idempotency_key)
);

create table ticket_timeline (
    id bigserial primary key,
    ticket_id text not null references tickets (ticket_id),
    at timestamptz not null,
    type text not null,
    author text,
    body text,
    detail jsonb not null default '{}'
);
create index ticket_timeline_ticket on ticket_timeline (ticket_id, id);

create table sla_breaches (
    ticket_id text not null references tickets (ticket_id),
    target text not null,
    due_at timestamptz not null,
    detected_at timestamptz not null,
    primary key (ticket_id, target)
);
