"""Sign-in by emailed link: issue (rate-limited, same answer for unknown addresses) and
consume (single use, a new session id)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from entitle_events.portal import SignInRequested

from services.runtime.context import Transactions
from services.runtime.db import Connection
from services.runtime.errors import Refused
from services.runtime.sealed import seal

from ..adapters import store
from ..domain import sign_in as rules
from ..domain.principals import Area, Role
from .sessions import session_hash


@dataclass(frozen=True)
class AreaSignIn:
    """How one area (portal, desk) signs people in: who is known, with which role."""

    area: Area
    role_of: Callable[[Connection, str], Awaitable[Role | None]]
    link_path: str


@dataclass(frozen=True)
class SignInPolicy:
    link_lifetime: timedelta
    per_address: rules.RateLimit
    per_client: rules.RateLimit
    portal_url: str
    seal_key: str | None


class RateLimited(Refused):
    """Past a sign-in limit: `what` was asked for too often; try again after `retry_after`."""

    def __init__(self, what: str, retry_after: timedelta) -> None:
        minutes = int(retry_after / timedelta(minutes=1))
        super().__init__(
            "SIGN_IN_RATE_LIMITED", f"Too many {what}. Try again in {minutes} minutes."
        )
        self.retry_after = retry_after


async def request_link(
    transactions: Transactions,
    policy: SignInPolicy,
    area: AreaSignIn,
    email: str,
    client: str,
    next_path: str,
) -> None:
    """Email a sign-in link if the address is known; the caller shows the same page either
    way. Raises RateLimited past the limits (counted for known and unknown addresses)."""
    email = rules.normalise_email(email)
    async with transactions.transaction() as ctx:
        now = ctx.now()
        by_address = rules.address_bucket(email)
        by_client = rules.client_bucket(client)
        for bucket, limit in ((by_address, policy.per_address), (by_client, policy.per_client)):
            if not limit.allows(await store.count_attempts(ctx.conn, bucket, limit.since(now))):
                raise RateLimited("sign-in links were asked for", limit.window)
        await store.add_attempt(ctx.conn, by_address, now)
        await store.add_attempt(ctx.conn, by_client, now)
        if policy.seal_key is None or await area.role_of(ctx.conn, email) is None:
            return
        token = rules.new_token()
        expires = now + policy.link_lifetime
        await store.store_token(
            ctx.conn, rules.token_hash(token), email, area.area, next_path, now, expires
        )
        link = f"{policy.portal_url.rstrip('/')}{area.link_path}?{urlencode({'token': token})}"
        ctx.emit(
            SignInRequested(
                email=email,
                area=area.area,
                requested_at=now,
                expires_at=expires,
                sealed_link=seal(policy.seal_key, link, email),
            ),
            subject=hashlib.sha256(email.encode()).hexdigest()[:32],
        )


@dataclass(frozen=True)
class NewSession:
    cookie_value: str
    email: str
    area: Area
    role: Role
    next_path: str


class LinkRefused(Refused):
    """A link that signs nobody in: expired, used, or unknown (also in another area)."""

    def __init__(self, state: rules.LinkState) -> None:
        super().__init__(*rules.LINK_REFUSALS["unknown" if state == "valid" else state])


async def check_link(transactions: Transactions, token: str) -> None:
    """Raises LinkRefused unless the link would sign someone in now."""
    if not token:
        raise LinkRefused("unknown")
    async with transactions.transaction() as ctx:
        found = await store.find_token(ctx.conn, rules.token_hash(token))
        now = ctx.now()
    state = "unknown" if found is None else rules.link_state(found.expires_at, found.used_at, now)
    if state != "valid":
        raise LinkRefused(state)


async def consume_link(
    transactions: Transactions,
    area: AreaSignIn,
    token: str,
    previous_session: str | None,
    session_lifetime: timedelta,
    account_for: Callable[[Connection, str], Awaitable[str | None]],
) -> NewSession:
    """Use the link once and open a session under a new id (the previous one ends)."""
    async with transactions.transaction() as ctx:
        now = ctx.now()
        used = await store.use_token(ctx.conn, rules.token_hash(token), now)
        if used is None or used.area != area.area:
            found = await store.find_token(ctx.conn, rules.token_hash(token))
            state = (
                "unknown"
                if found is None or found.area != area.area
                else rules.link_state(found.expires_at, found.used_at, now)
            )
            raise LinkRefused(state)
        role = await area.role_of(ctx.conn, used.email)
        if role is None:
            raise LinkRefused("unknown")
        if previous_session:
            await store.end_session(ctx.conn, session_hash(previous_session))
        cookie = secrets.token_urlsafe(32)
        await store.create_session(
            ctx.conn,
            session_hash(cookie),
            area.area,
            role,
            used.email,
            await account_for(ctx.conn, used.email),
            now,
            now + session_lifetime,
        )
    return NewSession(cookie, used.email, area.area, role, used.next_path)
