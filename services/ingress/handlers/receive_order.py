"""Accept verified orders: store each once, put `order.placed` in the outbox, wait for Kafka.

Deliveries that arrive together are stored together (services/runtime/grouped.py): one
transaction and a constant number of statements for the whole group, with each delivery's
outcome exactly what it would be had the group's deliveries arrived one after another."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from entitle_events import Order, OrderPlaced

from services.runtime import tracing
from services.runtime.context import Context, Transactions
from services.runtime.errors import Refused
from services.runtime.grouped import Grouped

from ..adapters import orders
from ..adapters.orders import StoredOrder


@dataclass(frozen=True)
class Delivery:
    """One verified webhook delivery."""

    webhook_id: str
    order: Order
    body_sha256: str
    """Of the parsed order, so a resend that only reformats the JSON is the same order."""
    traceparent: str


@dataclass(frozen=True)
class Accepted:
    order_id: str
    event_id: str
    duplicate: bool


@dataclass(frozen=True)
class Stored:
    order: StoredOrder
    duplicate: bool


WaitPublished = Callable[[int, float], Awaitable[bool]]
"""Wait up to a timeout for an outbox row to reach the broker; False when it has not yet."""

Deliveries = Grouped[Transactions, Delivery, Stored]


def deliveries() -> Deliveries:
    """The group commit of one service process's deliveries."""
    return Grouped(store_deliveries)


def delivery(webhook_id: str, order: Order, traceparent: str | None) -> Delivery:
    # The order continues the request's span (which continues the shop's trace, if it sent
    # one), or starts a trace: every event of its chain carries it.
    traceparent = (
        tracing.current_traceparent()
        or traceparent
        # Trace ids must be unique, not secret: OpenTelemetry's own generator draws them so.
        or f"00-{random.getrandbits(128):032x}-{random.getrandbits(64):016x}-01"
    )
    digest = hashlib.sha256(order.model_dump_json().encode()).hexdigest()
    return Delivery(webhook_id, order, digest, traceparent)


async def receive_order(
    db: Transactions,
    group: Deliveries,
    wait_published: WaitPublished,
    received: Delivery,
    *,
    publish_timeout: float,
) -> Accepted:
    stored = await group.submit(db, received)
    if not await wait_published(stored.order.outbox_id, publish_timeout):
        raise Refused(
            "PUBLISH_PENDING",
            "the order is stored and will be published; retry with the same webhook-id",
        )
    order = stored.order
    return Accepted(order.order_id, str(order.event_id), stored.duplicate)


async def store_deliveries(db: Transactions, group: Sequence[Delivery]) -> list[Stored | Exception]:
    async with db.transaction() as ctx:
        webhook_ids = {d.webhook_id for d in group}
        order_ids = {d.order.order_id for d in group}
        await orders.lock_deliveries(ctx.conn, webhook_ids, order_ids)
        by_webhook = await orders.orders_of_webhooks(ctx.conn, webhook_ids)
        return await _Group(ctx, by_webhook, await orders.orders_by_id(ctx.conn, order_ids)).store(
            group
        )


class _Group:
    """The deliveries of one transaction, decided in arrival order against what is stored
    and what the earlier deliveries of the group stored."""

    def __init__(
        self, ctx: Context, by_webhook: dict[str, StoredOrder], by_id: dict[str, StoredOrder]
    ) -> None:
        self.ctx = ctx
        self.orders = {**by_id, **{o.order_id: o for o in by_webhook.values()}}
        self.webhooks = {webhook_id: o.order_id for webhook_id, o in by_webhook.items()}
        self.placed: list[tuple[str, str]] = []
        """(order id, webhook id) of each new order, in the order its event was staged."""
        self.receipts: list[tuple[str, str]] = []

    async def store(self, group: Sequence[Delivery]) -> list[Stored | Exception]:
        decided = [self.decide(d) for d in group]
        outbox_ids = await self.ctx.flush()
        for (order_id, _), outbox_id in zip(self.placed, outbox_ids, strict=True):
            self.orders[order_id] = replace(self.orders[order_id], outbox_id=outbox_id)
        now = self.ctx.now()
        new = [(self.orders[order_id], webhook_id) for order_id, webhook_id in self.placed]
        await orders.insert_orders(self.ctx.conn, new, now)
        await orders.record_receipts(self.ctx.conn, self.receipts, now)
        return [d if isinstance(d, Exception) else Stored(self.orders[d[0]], d[1]) for d in decided]

    def decide(self, d: Delivery) -> tuple[str, bool] | Refused:
        """(order id, whether it was a duplicate), or the refusal."""
        order_id = d.order.order_id
        claimed = self.webhooks.get(d.webhook_id)
        if claimed is not None and claimed != order_id:
            return Refused(
                "WEBHOOK_ID_REUSED", f"webhook-id {d.webhook_id} was used for another order"
            )
        known = self.orders.get(order_id)
        if known is None:
            event = self.ctx.emit(
                OrderPlaced.model_validate(d.order.model_dump()),
                subject=order_id,
                correlationid=order_id,
                traceparent=d.traceparent,
            )
            self.orders[order_id] = StoredOrder(order_id, event.id, d.body_sha256, outbox_id=0)
            self.placed.append((order_id, d.webhook_id))
            self.webhooks[d.webhook_id] = order_id
            return order_id, False
        if known.body_sha256 != d.body_sha256:
            return Refused(
                "ORDER_CONFLICT", f"order {order_id} was already received with different content"
            )
        if claimed is None:  # the same order again, under a new webhook-id
            self.receipts.append((d.webhook_id, order_id))
            self.webhooks[d.webhook_id] = order_id
        return order_id, True
