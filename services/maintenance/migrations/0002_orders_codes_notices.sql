-- Cover end and renewal-notice due date, kept with the periods so the schedulers can
-- find due licenses in SQL (null: perpetual or never covered).
alter table coverage add column ends_at timestamptz;
alter table coverage add column notice_at timestamptz;
alter table coverage add column status_changed_at timestamptz;
-- Set on an add-on license: its eligibility follows the base license (seed 000).
alter table coverage add column base_license_id uuid;
create index coverage_notice_due on coverage (notice_at) where status = 'active';
create index coverage_end_due on coverage (ends_at) where status = 'active';
create index coverage_product on coverage (product, license_id);

-- Releases published by licensing (topic licensing.releases).
create table releases (
    product text not null,
    version text not null,
    major int not null,
    minor int not null,
    patch int not null,
    released_at timestamptz not null,
    release_kind text not null,
    primary key (product, version)
);

-- Order lines already handled (renewals, codes, upgrades): redeliveries do nothing.
create table handled_order_lines (
    order_id text not null,
    line_id text not null,
    handled_at timestamptz not null,
    outcome text not null,
    primary key (order_id, line_id)
);

-- Maintenance codes bought separately, attached to a license once.
create table maintenance_codes (
    code text primary key,
    sku text not null,
    plan text not null,
    product text not null,
    term_months int not null,
    order_id text not null,
    line_id text not null,
    account_id text not null,
    bought_at timestamptz not null,
    used_by_license uuid references coverage (license_id),
    used_at timestamptz
);
create index maintenance_codes_order on maintenance_codes (order_id, line_id);

-- Renewal notices sent: one per (license, kind, cover end), even across restarts.
create table coverage_notices (
    license_id uuid not null references coverage (license_id),
    kind text not null, -- expiring | lapsed
    period_end timestamptz not null,
    sent_at timestamptz not null,
    primary key (license_id, kind, period_end)
);
