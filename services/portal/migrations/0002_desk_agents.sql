-- Support desk accounts: agents and admins, created by an admin (`entitle agents add`, or
-- the desk's admin page). They sign in by emailed link or by password; only an argon2id
-- hash of the password is kept. A disabled account cannot sign in; its sessions end.
create table desk_agents (
    email text primary key,         -- lower case
    role text not null check (role in ('agent', 'admin')),
    password_hash text,
    created_at timestamptz not null,
    created_by text not null,
    disabled_at timestamptz
);
