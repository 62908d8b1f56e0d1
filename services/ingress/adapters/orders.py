"""Tables of ingress: accepted orders and webhook receipts. Each function takes a whole
group of deliveries (services/runtime/grouped.py) and costs one statement."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.runtime.db import Connection


@dataclass(frozen=True)
class StoredOrder:
    order_id: str
    event_id: uuid.UUID
    body_sha256: str
    outbox_id: int


_WEBHOOK_LOCKS = 1
"""Advisory lock class of webhook ids (two-key form): apart from the order-id locks."""


async def lock_deliveries(
    conn: Connection, webhook_ids: Collection[str], order_ids: Collection[str]
) -> None:
    """Serialise concurrent deliveries of the same webhook ids and order ids, across
    processes, for the rest of the transaction. Every transaction takes its webhook locks and
    then its order locks, each in hash order, so two groups never wait for each other in a
    cycle. The lookups that follow take their snapshot after the locks are held, and so see
    what a previous holder committed."""
    await conn.execute(
        "select count(*) from ("
        " select pg_advisory_xact_lock($1, h) from"
        "  (select distinct hashtext(w) as h from unnest($2::text[]) w order by h) webhooks"
        " union all"
        " select pg_advisory_xact_lock(h) from"
        "  (select distinct hashtext(o) as h from unnest($3::text[]) o order by h) orders"
        ") locked",
        _WEBHOOK_LOCKS,
        list(webhook_ids),
        list(order_ids),
    )


async def orders_of_webhooks(
    conn: Connection, webhook_ids: Collection[str]
) -> dict[str, StoredOrder]:
    """The order each of these webhook ids already brought, by webhook id."""
    rows = await conn.fetch(
        "select r.webhook_id, o.order_id, o.event_id, o.body_sha256, o.outbox_id"
        " from webhook_receipts r join orders o using (order_id)"
        " where r.webhook_id = any($1::text[])",
        list(webhook_ids),
    )
    return {row["webhook_id"]: _stored(row) for row in rows}


async def orders_by_id(conn: Connection, order_ids: Collection[str]) -> dict[str, StoredOrder]:
    rows = await conn.fetch(
        "select order_id, event_id, body_sha256, outbox_id from orders"
        " where order_id = any($1::text[])",
        list(order_ids),
    )
    return {row["order_id"]: _stored(row) for row in rows}


def _stored(row: asyncpg.Record) -> StoredOrder:
    return StoredOrder(row["order_id"], row["event_id"], row["body_sha256"], row["outbox_id"])


async def insert_orders(
    conn: Connection, new: Sequence[tuple[StoredOrder, str]], at: datetime
) -> None:
    """New orders, each with the receipt of the webhook that brought it, in one statement."""
    if not new:
        return
    await conn.execute(
        "with stored as (insert into orders (order_id, event_id, body_sha256, outbox_id,"
        " received_at) select o, e, b, x, $5 from unnest($1::text[], $2::uuid[], $3::text[],"
        " $4::bigint[]) as n(o, e, b, x) returning order_id)"
        " insert into webhook_receipts (webhook_id, order_id, received_at)"
        " select w, stored.order_id, $5 from unnest($6::text[], $1::text[]) as r(w, o)"
        " join stored on stored.order_id = r.o",
        [order.order_id for order, _ in new],
        [order.event_id for order, _ in new],
        [order.body_sha256 for order, _ in new],
        [order.outbox_id for order, _ in new],
        at,
        [webhook_id for _, webhook_id in new],
    )


async def record_receipts(
    conn: Connection, receipts: Sequence[tuple[str, str]], at: datetime
) -> None:
    """Receipts (webhook id, order id) of deliveries that brought an order already stored."""
    if not receipts:
        return
    await conn.execute(
        "insert into webhook_receipts (webhook_id, order_id, received_at)"
        " select w, o, $3 from unnest($1::text[], $2::text[]) as r(w, o)"
        " on conflict do nothing",
        [webhook_id for webhook_id, _ in receipts],
        [order_id for _, order_id in receipts],
        at,
    )
