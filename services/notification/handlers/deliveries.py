"""What the HTTP API asks of notification: delivery listings and suppressions."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from services.runtime.context import Context
from services.runtime.errors import Refused

from ..adapters import deliveries
from ..domain.records import Delivery, DeliveryFilter, Suppression
from ..domain.unsubscribe import UnsubscribeLinks


async def find(
    pool: asyncpg.Pool, wanted: DeliveryFilter, limit: int, offset: int
) -> list[Delivery]:
    """A page of the deliveries wanted, newest first: a read, outside any transaction."""
    return await deliveries.search(pool, wanted, limit, offset)


@dataclass(frozen=True)
class Suppress:
    """No more non-transactional mail to `email`; an account-bound caller (`account_id`)
    may suppress only an address its account's mail went to."""

    email: str
    reason: str
    account_id: str | None


@dataclass(frozen=True)
class Unsubscribe:
    """The one-click unsubscribe of a link in non-transactional mail."""

    email: str
    token: str


async def suppress(ctx: Context, command: Suppress) -> None:
    if command.account_id is not None and not await deliveries.mailed_by_account(
        ctx.conn, command.email, command.account_id
    ):
        raise Refused("RECIPIENT_NOT_FOUND", "no email of this account went to this address")
    await deliveries.suppress(ctx.conn, [Suppression(command.email, command.reason)], ctx.now())


async def unsubscribe(ctx: Context, command: Unsubscribe, links: UnsubscribeLinks) -> None:
    if not links.valid(command.email, command.token):
        raise Refused("INVALID_UNSUBSCRIBE_TOKEN", "this unsubscribe link is not valid")
    await deliveries.suppress(ctx.conn, [Suppression(command.email, "unsubscribed")], ctx.now())
