-- A delivery is taken for sending under a lease, committed before the SMTP session starts,
-- and its outcome is recorded as soon as the server answers: a crash resends only what was
-- in flight. A lease that outlives its sender (killed) lets another sender take the row.
alter table deliveries drop constraint deliveries_status_check;
alter table deliveries add constraint deliveries_status_check
    check (status in ('pending', 'sending', 'sent', 'failed', 'suppressed'));
alter table deliveries add column lease_token uuid;
alter table deliveries add column lease_until timestamptz;
create index deliveries_leased on deliveries (lease_until) where status = 'sending';

-- The account an email concerns: an account-bound API key sees only its own deliveries.
alter table deliveries add column account_id text;
create index deliveries_account on deliveries (account_id, created_at);
alter table license_digests add column account_id text;
alter table license_digests add column reseller_account_id text;
