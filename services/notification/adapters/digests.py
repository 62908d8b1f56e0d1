"""The license-delivery digest tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.runtime.db import Connection

from ..domain.digest import LicenseItem


async def add(conn: Connection, item: LicenseItem, at: datetime) -> dict[str, Any]:
    """Record what the event tells; return the order's digest row, locked (the upsert's
    insert or update holds the row lock to the end of the transaction)."""
    row = await conn.fetchrow(
        "insert into license_digests (order_id, recipient, expected, reseller_email, created_at,"
        " account_id, reseller_account_id) values ($1, $2, $3, $4, $5, $6, $7)"
        " on conflict (order_id) do update"
        " set expected = coalesce(license_digests.expected, excluded.expected),"
        " reseller_email = coalesce(license_digests.reseller_email, excluded.reseller_email),"
        " account_id = coalesce(license_digests.account_id, excluded.account_id),"
        " reseller_account_id = coalesce(license_digests.reseller_account_id,"
        " excluded.reseller_account_id)"
        " returning *",
        item.order_id,
        item.recipient,
        item.licenses_in_order,
        item.reseller_email,
        at,
        item.account_id,
        item.reseller_account_id,
    )
    await conn.execute(
        "insert into license_digest_items (order_id, license_id, product, license_key, ready,"
        " coverage_ends_at) values ($1, $2, $3, $4, $5, $6)"
        " on conflict (order_id, license_id) do update"
        " set ready = license_digest_items.ready or excluded.ready,"
        " coverage_ends_at = coalesce(excluded.coverage_ends_at,"
        " license_digest_items.coverage_ends_at)",
        item.order_id,
        item.license_id,
        item.product,
        item.license_key,
        item.ready,
        item.coverage_ends_at,
    )
    assert row is not None
    return dict(row)


async def items(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "select * from license_digest_items where order_id = $1 order by product, license_id",
        order_id,
    )
    return [dict(r) for r in rows]


async def mark_sent(conn: Connection, order_id: str) -> None:
    await conn.execute("update license_digests set sent = true where order_id = $1", order_id)


async def claim_overdue(conn: Connection, before: datetime, limit: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "select * from license_digests where not sent and created_at <= $1"
        " order by created_at limit $2 for update skip locked",
        before,
        limit,
    )
    return [dict(r) for r in rows]
