-- New majors to announce to every license of the product, one keyset page at a time:
-- `cursor` is the last license_id handled; `done_at` set once all were.
create table release_fanouts (
    product text not null,
    version text not null,
    created_at timestamptz not null,
    cursor uuid,
    announced int not null default 0,
    done_at timestamptz,
    primary key (product, version),
    foreign key (product, version) references releases (product, version)
);
create index release_fanouts_pending on release_fanouts (created_at) where done_at is null;
