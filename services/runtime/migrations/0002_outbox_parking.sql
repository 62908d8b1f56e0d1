-- A row the relay cannot publish is retried with backoff, then parked for an operator
-- (`entitle outbox list|retry|drop`); later rows of its key wait behind it, other keys go on.
alter table outbox
    add column attempts int not null default 0,
    add column next_attempt_at timestamptz not null default '-infinity',
    add column last_error text,
    add column parked_at timestamptz;

-- Only failing rows are in it, so the "does an earlier row of this key block?" check the
-- relay runs for every row costs nothing while everything publishes.
create index outbox_failing on outbox (topic, key, id) where attempts > 0;
