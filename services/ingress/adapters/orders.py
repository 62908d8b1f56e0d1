"""Tables of ingress: accepted orders and webhook receipts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from services.runtime.db import Connection


@dataclass(frozen=True)
class StoredOrder:
    order_id: str
    event_id: uuid.UUID
    body_sha256: str
    outbox_id: int


_WEBHOOK_LOCKS = 1
"""Advisory lock class of webhook ids (two-key form): apart from the order-id locks."""


async def lock_webhook(conn: Connection, webhook_id: str) -> StoredOrder | None:
    """Serialise concurrent deliveries of one webhook id for the rest of the transaction, and
    return the order it already brought, if any. Two statements: the lookup's snapshot must
    be taken after the lock is held, to see what the holder committed."""
    await conn.execute("select pg_advisory_xact_lock($1, hashtext($2))", _WEBHOOK_LOCKS, webhook_id)
    row = await conn.fetchrow(
        "select o.order_id, o.event_id, o.body_sha256, o.outbox_id from webhook_receipts r"
        " join orders o using (order_id) where r.webhook_id = $1",
        webhook_id,
    )
    return StoredOrder(**row) if row else None


async def lock_order(conn: Connection, order_id: str) -> StoredOrder | None:
    # Serialises concurrent deliveries of one order id for the rest of the transaction.
    await conn.execute("select pg_advisory_xact_lock(hashtext($1))", order_id)
    row = await conn.fetchrow(
        "select order_id, event_id, body_sha256, outbox_id from orders where order_id = $1",
        order_id,
    )
    return StoredOrder(**row) if row else None


async def insert_order(conn: Connection, order: StoredOrder, webhook_id: str, at: datetime) -> None:
    """The new order and the receipt of the webhook that brought it, in one statement."""
    await conn.execute(
        "with stored as (insert into orders (order_id, event_id, body_sha256, outbox_id,"
        " received_at) values ($1, $2, $3, $4, $5) returning order_id)"
        " insert into webhook_receipts (webhook_id, order_id, received_at)"
        " select $6, order_id, $5 from stored",
        order.order_id,
        order.event_id,
        order.body_sha256,
        order.outbox_id,
        at,
        webhook_id,
    )


async def record_receipt(conn: Connection, webhook_id: str, order_id: str, at: datetime) -> None:
    await conn.execute(
        "insert into webhook_receipts (webhook_id, order_id, received_at) values ($1, $2, $3)"
        " on conflict do nothing",
        webhook_id,
        order_id,
        at,
    )
