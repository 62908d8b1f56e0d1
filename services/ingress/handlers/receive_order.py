"""Accept a verified order: store it once, put `order.placed` in the outbox, wait for Kafka."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from entitle_events import Order, OrderPlaced

from services.runtime import tracing
from services.runtime.context import Transactions
from services.runtime.errors import Refused

from ..adapters import orders


@dataclass(frozen=True)
class Accepted:
    order_id: str
    event_id: str
    duplicate: bool


WaitPublished = Callable[[int, float], Awaitable[bool]]
"""Wait up to a timeout for an outbox row to reach the broker; False when it has not yet."""


async def receive_order(
    db: Transactions,
    wait_published: WaitPublished,
    *,
    webhook_id: str,
    order: Order,
    traceparent: str | None,
    publish_timeout: float,
) -> Accepted:
    # The order continues the request's span (which continues the shop's trace, if it sent
    # one), or starts a trace: every event of its chain carries it.
    traceparent = (
        tracing.current_traceparent()
        or traceparent
        or f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"
    )
    # Compared on the parsed order, so a resend that only reformats the JSON is the same order.
    digest = hashlib.sha256(order.model_dump_json().encode()).hexdigest()
    async with db.transaction() as ctx:
        stored = await orders.lock_webhook(ctx.conn, webhook_id)
        if stored is not None and stored.order_id != order.order_id:
            raise Refused(
                "WEBHOOK_ID_REUSED", f"webhook-id {webhook_id} was used for another order"
            )
        if stored is None:
            stored = await orders.lock_order(ctx.conn, order.order_id)
        duplicate = stored is not None
        if stored is None:
            event = ctx.emit(
                OrderPlaced.model_validate(order.model_dump()),
                subject=order.order_id,
                correlationid=order.order_id,
                traceparent=traceparent,
            )
            [outbox_id] = await ctx.flush()
            stored = orders.StoredOrder(order.order_id, event.id, digest, outbox_id)
            await orders.insert_order(ctx.conn, stored, webhook_id, ctx.now())
        elif stored.body_sha256 != digest:
            raise Refused(
                "ORDER_CONFLICT",
                f"order {order.order_id} was already received with different content",
            )
        else:  # the same order again, perhaps under a new webhook-id
            await orders.record_receipt(ctx.conn, webhook_id, order.order_id, ctx.now())
    if not await wait_published(stored.outbox_id, publish_timeout):
        raise Refused(
            "PUBLISH_PENDING",
            "the order is stored and will be published; retry with the same webhook-id",
        )
    return Accepted(stored.order_id, str(stored.event_id), duplicate)
