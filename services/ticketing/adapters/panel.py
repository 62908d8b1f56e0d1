"""SQL of the entitlement panel: what the projection knows about a ticket's customer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.runtime.db import Connection


async def licenses(conn: Connection, account_id: str, product: str) -> list[dict[str, Any]]:
    """The account's licenses of the product, with their maintenance coverage."""
    rows = await conn.fetch(
        """
        select l.license_id, l.license_key, l.kind, l.edition, l.status, l.purchased_at,
               l.expires_at, l.major_version, c.covered, c.ends_at as coverage_ends_at,
               c.perpetual, c.plan
        from ent_licenses l left join ent_coverage c using (license_id)
        where l.account_id = $1 and l.product = $2
        order by l.purchased_at, l.license_id
        """,
        account_id,
        product,
    )
    return [dict(r) for r in rows]


async def support_plans(conn: Connection, account_id: str, product: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "select order_id, line_id, starts_at, ends_at from ent_support_plans"
        " where account_id = $1 and product = $2 order by starts_at",
        account_id,
        product,
    )
    return [dict(r) for r in rows]


async def credits(conn: Connection, account_id: str) -> tuple[int, int]:
    """Incident credits granted to the account, and used by its tickets."""
    row = await conn.fetchrow(
        "select coalesce((select sum(credits) from ent_credit_grants where account_id = $1), 0)"
        " as granted, (select count(*) from credit_uses where account_id = $1) as used",
        account_id,
    )
    assert row is not None
    return int(row["granted"]), int(row["used"])


async def partner_since(conn: Connection, account_id: str) -> datetime | None:
    value = await conn.fetchval("select since from ent_partners where account_id = $1", account_id)
    return value  # type: ignore[no-any-return]
