-- The trace of the event an email was sent for, carried on to notification.sent/failed.
alter table deliveries add column traceparent text;
