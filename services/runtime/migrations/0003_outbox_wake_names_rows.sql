-- The wake-up names the last row the statement inserted, so a relay that has already
-- published that row (it was woken directly by its own process) does not run again for it.
create or replace function outbox_wake() returns trigger language plpgsql as $$
begin
    perform pg_notify('entitle_outbox', coalesce((select max(id)::text from inserted), ''));
    return null;
end $$;

drop trigger outbox_wake on outbox;
create trigger outbox_wake after insert on outbox
    referencing new table as inserted
    for each statement execute function outbox_wake();
