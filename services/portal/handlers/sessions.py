"""Browser sessions once signed in: resumed on every page, tied to an account, ended; and
the directory's answer to which accounts a person acts for."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import asyncpg

from services.runtime.db import Connection

from ..adapters import store
from ..domain.principals import Membership, Role
from ..domain.records import WebSession


def session_hash(cookie_value: str) -> str:
    return hashlib.sha256(cookie_value.encode()).hexdigest()


async def resume(
    pool: asyncpg.Pool, cookie_value: str, now: datetime, idle_lifetime: timedelta
) -> WebSession | None:
    """The session of this cookie if it has neither ended nor idled out (its last use
    becomes now)."""
    return await store.live_session(pool, session_hash(cookie_value), now, now - idle_lifetime)


async def memberships(db: Connection | asyncpg.Pool, email: str) -> list[Membership]:
    return await store.memberships(db, email)


async def act_for(pool: asyncpg.Pool, cookie_value: str, account_id: str) -> None:
    """From now on the session acts for this account."""
    await store.set_session_account(pool, session_hash(cookie_value), account_id)


async def end(pool: asyncpg.Pool, cookie_value: str) -> None:
    await store.end_session(pool, session_hash(cookie_value))


async def customer_role(conn: Connection, email: str) -> Role | None:
    """A person is a customer of the portal when the directory knows them."""
    return "customer" if await store.memberships(conn, email) else None


async def only_account(conn: Connection, email: str) -> str | None:
    """The account a person acts for right away: theirs, when they have exactly one."""
    found = await store.memberships(conn, email)
    return found[0].account_id if len(found) == 1 else None
