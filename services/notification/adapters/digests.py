"""The license-delivery digest tables. Each call reads or writes the digests of many orders
in one statement."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.runtime.db import Connection

from ..domain.digest import LicenseItem
from ..domain.records import Digest, DigestItem
from .rows import columns

_DIGEST = (
    "order_id, recipient, expected, reseller_email, account_id, reseller_account_id, sent,"
    " created_at"
)
_STORED = ("order_id", "expected", "reseller_email", "account_id", "reseller_account_id", "sent")
_ITEM = "order_id, license_id, product, license_key, ready, coverage_ends_at"


async def lock(conn: Connection, firsts: Sequence[LicenseItem], at: datetime) -> list[Digest]:
    """The digests of the orders of `firsts` (one item per order: the first told), created
    if new with nothing known yet but their recipient, and locked to the end of the
    transaction: a concurrent writer of the same order waits, and this one then reads what
    it wrote. The flush of overdue digests takes the same locks."""
    rows = await conn.fetch(
        "insert into license_digests (order_id, recipient, created_at)"
        " select t.order_id, t.recipient, $3::timestamptz"
        " from unnest($1::text[], $2::text[]) as t(order_id, recipient)"
        # A no-op update: it locks an existing row and returns it as it is.
        " on conflict (order_id) do update set order_id = excluded.order_id"
        f" returning {_DIGEST}",
        *columns(firsts, "order_id", "recipient"),
        at,
    )
    return [Digest(**row) for row in rows]


async def items_of(conn: Connection, order_ids: Sequence[str]) -> list[DigestItem]:
    """The licenses of the orders, in the order their email lists them."""
    rows = await conn.fetch(
        f"select {_ITEM} from license_digest_items where order_id = any($1::text[])"
        " order by order_id, product, license_id",
        order_ids,
    )
    return [DigestItem(**row) for row in rows]


async def store(conn: Connection, digests: Sequence[Digest], items: Sequence[DigestItem]) -> None:
    """Write, in one statement, what is now known of these (locked) digests, whether their
    email went, and these licenses of theirs as they are now (one per order and license)."""
    await conn.execute(
        "with licenses as (insert into license_digest_items (order_id, license_id, product,"
        " license_key, ready, coverage_ends_at) select * from unnest($7::text[], $8::text[],"
        " $9::text[], $10::text[], $11::boolean[], $12::timestamptz[])"
        " on conflict (order_id, license_id) do update"
        " set ready = excluded.ready, coverage_ends_at = excluded.coverage_ends_at)"
        " update license_digests d set expected = t.expected, reseller_email = t.reseller_email,"
        " account_id = t.account_id, reseller_account_id = t.reseller_account_id, sent = t.sent"
        " from unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::boolean[])"
        " as t(order_id, expected, reseller_email, account_id, reseller_account_id, sent)"
        " where d.order_id = t.order_id",
        *columns(digests, *_STORED),
        *columns(items, *_ITEM.split(", ")),
    )


async def mark_sent(conn: Connection, order_ids: Sequence[str]) -> None:
    await conn.execute(
        "update license_digests set sent = true where order_id = any($1::text[])", order_ids
    )


async def claim_overdue(conn: Connection, before: datetime, limit: int) -> list[Digest]:
    rows = await conn.fetch(
        f"select {_DIGEST} from license_digests where not sent and created_at <= $1"
        " order by created_at limit $2 for update skip locked",
        before,
        limit,
    )
    return [Digest(**row) for row in rows]
