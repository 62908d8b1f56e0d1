"""The licensing tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from entitle_events.commerce import Order

from services.runtime.db import Connection

from ..domain.issuing import LicenseSpec


async def claim_line(
    conn: Connection, order_id: str, line_id: str, outcome: str, at: datetime
) -> bool:
    """Record that a line is handled; False when it already was."""
    inserted = await conn.fetchval(
        "insert into order_lines (order_id, line_id, outcome, handled_at)"
        " values ($1, $2, $3, $4) on conflict do nothing returning true",
        order_id,
        line_id,
        outcome,
        at,
    )
    return bool(inserted)


async def upsert_account(conn: Connection, order: Order, at: datetime) -> str:
    """Create the buyer's account on its first purchase; return its payment mode."""
    buyer = order.buyer
    mode: str = await conn.fetchval(
        "insert into accounts (account_id, company, email, reseller, payment_mode, created_at)"
        " values ($1, $2, $3, $4, $5, $6)"
        " on conflict (account_id) do update set company = excluded.company,"
        " email = excluded.email returning payment_mode",
        buyer.account_id,
        buyer.company,
        buyer.email,
        buyer.reseller,
        order.payment_mode,
        at,
    )
    return mode


async def insert_license(
    conn: Connection, spec: LicenseSpec, key: str, order_id: str, line_id: str, at: datetime
) -> None:
    await conn.execute(
        "insert into licenses (license_id, license_key, kind, product, edition, sku, account_id,"
        " company, contact_email, reseller_account_id, pooled, order_id, line_id, purchased_at,"
        " major_version, expires_at, auto_renew, max_activations, maintenance_plan, created_at)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
        " $18, $19, $20)",
        spec.license_id,
        key,
        spec.kind,
        spec.product,
        spec.edition,
        spec.sku,
        spec.account_id,
        spec.company,
        spec.contact_email,
        spec.reseller_account_id,
        spec.pooled,
        order_id,
        line_id,
        spec.purchased_at,
        spec.major_version,
        spec.expires_at,
        spec.auto_renew,
        spec.max_activations,
        spec.maintenance_plan,
        at,
    )


async def get_by_key(conn: Connection | asyncpg.Pool, key: str) -> dict[str, Any] | None:
    row = await conn.fetchrow("select * from licenses where license_key = $1", key)
    return dict(row) if row else None
