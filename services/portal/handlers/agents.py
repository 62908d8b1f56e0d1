"""Desk accounts: created by an admin, signed in by emailed link or by password.

Passwords are hashed with argon2id (argon2-cffi's defaults). A password sign-in is counted in
the same per-address and per-client limits as sign-in links, answers the same for an unknown
address and a wrong password (and takes as long: an unknown address is checked against a
dummy hash), and opens a session under a new id like a link does.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from services.runtime.context import Transactions
from services.runtime.db import Connection
from services.runtime.errors import Refused

from ..adapters import agents, store
from ..domain import sign_in as rules
from ..domain.principals import Role
from ..domain.records import Agent
from .sessions import session_hash
from .sign_in import NewSession, RateLimited, SignInPolicy

ROLES: tuple[Role, ...] = ("agent", "admin")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class AgentRefused(Refused):
    """A desk-account change that cannot be made: a stable code and a sentence."""

    @property
    def sentence(self) -> str:
        return self.detail


class SignInFailed(Refused):
    """The same for a wrong password, an unknown address and an account without one."""

    def __init__(self) -> None:
        super().__init__(
            "SIGN_IN_FAILED",
            "The address or the password is not right, or the account has no password. Ask"
            " for a sign-in link instead.",
        )


async def all_agents(pool: asyncpg.Pool) -> list[Agent]:
    return await agents.all_agents(pool)


async def desk_role(conn: Connection | asyncpg.Pool, email: str) -> Role | None:
    role = await agents.active_role(conn, email)
    for known in ROLES:
        if role == known:
            return known
    return None


@dataclass(frozen=True)
class AddAgent:
    """Create a desk account (or change its role and enable it again); `by`: who does."""

    email: str
    role: str
    by: str


@dataclass(frozen=True)
class DisableAgent:
    """Disable a desk account (its sessions end); `by`: who does."""

    email: str
    by: str


@dataclass(frozen=True)
class SetPassword:
    """Set a desk account's password, or with None remove it."""

    email: str
    password: str | None


async def add_agent(pool: asyncpg.Pool, command: AddAgent, now: datetime) -> Agent:
    email = rules.normalise_email(command.email)
    if not rules.looks_like_email(email):
        raise AgentRefused("EMAIL_INVALID", "Enter an email address like name@example.com.")
    if command.role not in ROLES:
        raise AgentRefused("ROLE_INVALID", "The role is agent or admin.")
    return await agents.upsert(pool, email, command.role, command.by, now)


async def disable_agent(pool: asyncpg.Pool, command: DisableAgent, now: datetime) -> None:
    """Never the last admin, never oneself."""
    email = command.email
    if rules.normalise_email(email) == rules.normalise_email(command.by):
        raise AgentRefused("CANNOT_DISABLE_SELF", "You cannot disable your own account.")
    async with pool.acquire() as conn, conn.transaction():
        found = await agents.find(conn, email)
        if found is None:
            raise AgentRefused("AGENT_NOT_FOUND", "There is no desk account with this address.")
        if found.role == "admin" and await agents.count_active_admins(conn) <= 1:
            raise AgentRefused("LAST_ADMIN", "The last admin cannot be disabled.")
        await agents.disable(conn, email, now)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AgentRefused(
            "PASSWORD_TOO_SHORT", f"A password has at least {MIN_PASSWORD} characters."
        )
    if len(password) > MAX_PASSWORD:
        raise AgentRefused(
            "PASSWORD_TOO_LONG", f"A password has at most {MAX_PASSWORD} characters."
        )


async def set_password(pool: asyncpg.Pool, command: SetPassword) -> None:
    email, password = command.email, command.password
    if password is not None:
        check_password_rules(password)
    hashed = _HASHER.hash(password) if password is not None else None
    if not await agents.set_password_hash(pool, email, hashed):
        raise AgentRefused("AGENT_NOT_FOUND", "There is no desk account with this address.")


def _matches(hashed: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(hashed or _DUMMY_HASH, password) and hashed is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def password_sign_in(
    transactions: Transactions,
    policy: SignInPolicy,
    email: str,
    password: str,
    client: str,
    previous_session: str | None,
    session_lifetime: timedelta,
) -> NewSession:
    """Open a desk session for the right address and password; raises RateLimited past the
    limits and SignInFailed otherwise (the same for an unknown address)."""
    email = rules.normalise_email(email)
    async with transactions.transaction() as ctx:
        await _count_attempt(ctx.conn, policy, email, client, ctx.now())
        hashed = await agents.password_hash(ctx.conn, email)
    # Checked outside the transaction: argon2 takes its time, the connection need not wait.
    if len(password) > MAX_PASSWORD or not _matches(hashed, password):
        raise SignInFailed()
    async with transactions.transaction() as ctx:
        role = await desk_role(ctx.conn, email)
        if role is None:  # disabled meanwhile
            raise SignInFailed()
        if previous_session:
            await store.end_session(ctx.conn, session_hash(previous_session))
        cookie = secrets.token_urlsafe(32)
        now = ctx.now()
        await store.create_session(
            ctx.conn, session_hash(cookie), "desk", role, email, None, now, now + session_lifetime
        )
    return NewSession(cookie, email, "desk", role, "/desk/queue")


async def _count_attempt(
    conn: Connection, policy: SignInPolicy, email: str, client: str, now: datetime
) -> None:
    by_address = rules.address_bucket(email)
    by_client = rules.client_bucket(client)
    for bucket, limit in ((by_address, policy.per_address), (by_client, policy.per_client)):
        if not limit.allows(await store.count_attempts(conn, bucket, limit.since(now))):
            raise RateLimited("sign-in attempts", limit.window)
    await store.add_attempt(conn, by_address, now)
    await store.add_attempt(conn, by_client, now)
