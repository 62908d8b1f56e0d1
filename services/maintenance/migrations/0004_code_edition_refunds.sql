-- The edition a maintenance code maintains (null: any edition of its product), and codes
-- whose order was refunded: they can no longer be associated.
alter table maintenance_codes add column edition text;
alter table maintenance_codes add column refunded_at timestamptz;
