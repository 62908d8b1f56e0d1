-- Every email Entitle means to send: recorded first (with a stable Message-ID), sent later.
create table deliveries (
    id uuid primary key,
    event_id uuid not null,
    event_type text not null,
    correlation_id text,
    template text not null,
    recipient text not null,
    transactional boolean not null,
    subject text not null,
    body_text text not null,
    body_html text not null,
    message_id text not null,
    status text not null default 'pending' check (status in ('pending', 'sent', 'failed', 'suppressed')),
    attempts int not null default 0,
    next_attempt_at timestamptz not null,
    last_error text,
    smtp_code int,
    created_at timestamptz not null,
    sent_at timestamptz,
    unique (event_id, template, recipient)
);
create index deliveries_due on deliveries (next_attempt_at) where status = 'pending';
create index deliveries_recipient on deliveries (recipient, created_at);

-- Addresses that bounced permanently or unsubscribed: no more non-transactional mail.
create table suppressions (
    email text primary key,
    reason text not null,
    created_at timestamptz not null
);
