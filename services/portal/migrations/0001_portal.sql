-- Who may sign in for which account: a projection of order and license events.
create table directory (
    email text not null,            -- lower case
    account_id text not null,
    company text not null,
    reseller boolean not null default false,
    seen_at timestamptz not null,
    primary key (email, account_id)
);

-- Single-use sign-in links: only the SHA-256 of the token is kept.
create table sign_in_tokens (
    token_hash text primary key,
    email text not null,
    area text not null,
    next_path text not null,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    used_at timestamptz
);
create index sign_in_tokens_expiry on sign_in_tokens (expires_at);

-- Sign-in requests per address and per client, for the rate limits.
create table sign_in_attempts (
    bucket text not null,           -- 'email:<digest>' or 'client:<address>'
    at timestamptz not null
);
create index sign_in_attempts_bucket on sign_in_attempts (bucket, at);

-- Browser sessions: the cookie holds a random id, the table only its SHA-256.
create table web_sessions (
    id_hash text primary key,
    area text not null,             -- portal | desk
    role text not null,             -- customer | agent | admin
    email text not null,
    account_id text,                -- the account acted for; null until one is picked
    created_at timestamptz not null,
    last_seen_at timestamptz not null,
    expires_at timestamptz not null
);
create index web_sessions_expiry on web_sessions (expires_at);

-- Key-status look-ups per client (a public page: rate-limited).
create table key_status_attempts (
    client text not null,
    at timestamptz not null
);
create index key_status_attempts_client on key_status_attempts (client, at);
