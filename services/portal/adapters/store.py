"""The portal's own tables: directory, sign-in tokens and attempts, sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from services.runtime.db import Connection

from ..domain.principals import Membership
from ..domain.records import Member, SignInToken, WebSession


async def remember_members(conn: Connection, members: Sequence[Member]) -> None:
    """Upsert everyone in `members` with one statement, as if one after another: per
    address and account the last company, reseller if any said so, the latest sighting."""
    if not members:
        return
    await conn.execute(
        "insert into directory (email, account_id, company, reseller, seen_at)"
        " select distinct on (lower(e), a) lower(e), a, c,"
        " bool_or(r) over w, max(s) over w"
        " from unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::timestamptz[])"
        " with ordinality as t(e, a, c, r, s, n)"
        " window w as (partition by lower(e), a)"
        " order by lower(e), a, n desc"
        " on conflict (email, account_id) do update"
        " set company = excluded.company, reseller = directory.reseller or excluded.reseller,"
        " seen_at = greatest(directory.seen_at, excluded.seen_at)",
        [m.email for m in members],
        [m.account_id for m in members],
        [m.company for m in members],
        [m.reseller for m in members],
        [m.seen_at for m in members],
    )


async def memberships(conn: Connection | asyncpg.Pool, email: str) -> list[Membership]:
    rows = await conn.fetch(
        "select account_id, company, reseller from directory where email = lower($1)"
        " order by company, account_id",
        email,
    )
    return [Membership(r["account_id"], r["company"], r["reseller"]) for r in rows]


async def count_attempts(conn: Connection, bucket: str, since: datetime) -> int:
    value = await conn.fetchval(
        "select count(*) from sign_in_attempts where bucket = $1 and at > $2", bucket, since
    )
    return int(value)


async def add_attempt(conn: Connection, bucket: str, at: datetime) -> None:
    await conn.execute("insert into sign_in_attempts (bucket, at) values ($1, $2)", bucket, at)


async def store_token(
    conn: Connection,
    token_hash: str,
    email: str,
    area: str,
    next_path: str,
    at: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        "insert into sign_in_tokens (token_hash, email, area, next_path, created_at, expires_at)"
        " values ($1, lower($2), $3, $4, $5, $6)",
        token_hash,
        email,
        area,
        next_path,
        at,
        expires_at,
    )


async def find_token(conn: Connection, token_hash: str) -> SignInToken | None:
    row = await conn.fetchrow("select * from sign_in_tokens where token_hash = $1", token_hash)
    return None if row is None else SignInToken(**row)


async def use_token(conn: Connection, token_hash: str, now: datetime) -> SignInToken | None:
    """Mark the link used if it still works; the row, or None (used, expired, unknown)."""
    row = await conn.fetchrow(
        "update sign_in_tokens set used_at = $2 where token_hash = $1 and used_at is null"
        " and expires_at > $2 returning *",
        token_hash,
        now,
    )
    return None if row is None else SignInToken(**row)


async def create_session(
    conn: Connection,
    id_hash: str,
    area: str,
    role: str,
    email: str,
    account_id: str | None,
    at: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        "insert into web_sessions (id_hash, area, role, email, account_id, created_at,"
        " last_seen_at, expires_at) values ($1, $2, $3, lower($4), $5, $6, $6, $7)",
        id_hash,
        area,
        role,
        email,
        account_id,
        at,
        expires_at,
    )


async def live_session(
    pool: asyncpg.Pool, id_hash: str, now: datetime, idle_since: datetime
) -> WebSession | None:
    """The session if it has not ended or idled out; its last use becomes now."""
    row = await pool.fetchrow(
        "update web_sessions set last_seen_at = $2 where id_hash = $1 and expires_at > $2"
        " and last_seen_at > $3 returning *",
        id_hash,
        now,
        idle_since,
    )
    return None if row is None else WebSession(**row)


async def set_session_account(pool: asyncpg.Pool, id_hash: str, account_id: str) -> None:
    await pool.execute(
        "update web_sessions set account_id = $2 where id_hash = $1", id_hash, account_id
    )


async def end_session(conn: Connection | asyncpg.Pool, id_hash: str) -> None:
    await conn.execute("delete from web_sessions where id_hash = $1", id_hash)


async def count_key_lookups(pool: asyncpg.Pool, client: str, since: datetime, at: datetime) -> int:
    """Record one look-up and answer how many this client made in the window before it."""
    async with pool.acquire() as conn, conn.transaction():
        value = await conn.fetchval(
            "select count(*) from key_status_attempts where client = $1 and at > $2",
            client,
            since,
        )
        await conn.execute(
            "insert into key_status_attempts (client, at) values ($1, $2)", client, at
        )
    return int(value)


async def forget_expired(conn: Connection, now: datetime, attempts_before: datetime) -> None:
    await conn.execute("delete from web_sessions where expires_at <= $1", now)
    await conn.execute("delete from sign_in_tokens where expires_at <= $1", attempts_before)
    await conn.execute("delete from sign_in_attempts where at <= $1", attempts_before)
    await conn.execute("delete from key_status_attempts where at <= $1", attempts_before)
