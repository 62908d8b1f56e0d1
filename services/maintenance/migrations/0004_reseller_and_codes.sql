-- The reseller who sold a license sees its coverage and may associate maintenance with it
-- (seed 002: a reseller picks the customer, then the license).
alter table coverage add column reseller_account_id text;
create index maintenance_codes_account on maintenance_codes (account_id, bought_at);
