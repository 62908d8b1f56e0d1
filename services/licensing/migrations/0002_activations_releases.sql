-- Machines a license is activated on; deleting the row frees the seat.
create table activations (
    license_id uuid not null references licenses (license_id),
    fingerprint text not null,
    platform text not null,
    hostname text not null,
    activated_at timestamptz not null,
    primary key (license_id, fingerprint)
);

-- Versions the vendor published, per product.
create table releases (
    product text not null,
    version text not null,
    major int not null,
    minor int not null,
    patch int not null,
    released_at timestamptz not null,
    release_kind text not null,
    primary key (product, major, minor, patch)
);

-- Projection of maintenance's coverage events: what validation needs to answer version
-- questions without calling maintenance.
create table coverage (
    license_id uuid primary key,
    perpetual boolean not null default false,
    updated_at timestamptz not null
);

create table coverage_periods (
    license_id uuid not null,
    starts_at timestamptz not null,
    ends_at timestamptz not null,
    primary key (license_id, starts_at, ends_at)
);

create index licenses_reseller on licenses (reseller_account_id) where reseller_account_id is not null;
create index licenses_expiring on licenses (expires_at) where status = 'active' and expires_at is not null;
