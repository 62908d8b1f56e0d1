"""SQL of the desk's agent and admin accounts."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from services.runtime.db import Connection

from ..domain.records import Agent

Db = Connection | asyncpg.Pool


_COLUMNS = (
    "email, role, password_hash is not null as has_password, created_at, created_by, disabled_at"
)


async def upsert(db: Db, email: str, role: str, by: str, at: datetime) -> Agent:
    """Create the account, or give an existing one this role and enable it again."""
    row = await db.fetchrow(
        "insert into desk_agents (email, role, created_at, created_by) values (lower($1), $2,"
        " $3, $4) on conflict (email) do update set role = excluded.role, disabled_at = null"
        f" returning {_COLUMNS}",
        email,
        role,
        at,
        by,
    )
    assert row is not None
    return Agent(**row)


async def find(db: Db, email: str) -> Agent | None:
    row = await db.fetchrow(f"select {_COLUMNS} from desk_agents where email = lower($1)", email)
    return None if row is None else Agent(**row)


async def all_agents(db: Db) -> list[Agent]:
    rows = await db.fetch(f"select {_COLUMNS} from desk_agents order by email")
    return [Agent(**r) for r in rows]


async def active_role(db: Db, email: str) -> str | None:
    value = await db.fetchval(
        "select role from desk_agents where email = lower($1) and disabled_at is null", email
    )
    return None if value is None else str(value)


async def password_hash(db: Db, email: str) -> str | None:
    value = await db.fetchval(
        "select password_hash from desk_agents where email = lower($1) and disabled_at is null",
        email,
    )
    return None if value is None else str(value)


async def set_password_hash(db: Db, email: str, hashed: str | None) -> bool:
    done = await db.fetchval(
        "update desk_agents set password_hash = $2 where email = lower($1) returning true",
        email,
        hashed,
    )
    return bool(done)


async def disable(conn: Connection, email: str, at: datetime) -> bool:
    """Disable the account and end its desk sessions."""
    done = await conn.fetchval(
        "update desk_agents set disabled_at = $2 where email = lower($1)"
        " and disabled_at is null returning true",
        email,
        at,
    )
    await conn.execute("delete from web_sessions where area = 'desk' and email = lower($1)", email)
    return bool(done)


async def count_active_admins(db: Db) -> int:
    value = await db.fetchval(
        "select count(*) from desk_agents where role = 'admin' and disabled_at is null"
    )
    return int(value)
