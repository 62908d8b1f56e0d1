"""Maintenance codes bought separately (`maintenance_codes`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Final

import asyncpg

from services.runtime.db import Connection

from ..domain.records import ListedCode, MaintenanceCode
from .columns import arrays

_NEW_COLUMNS: Final = (
    "code, sku, plan, product, edition, term_months, order_id, line_id, account_id, bought_at"
)


async def insert(conn: Connection, codes: Sequence[MaintenanceCode]) -> set[str]:
    """Store new codes in one statement; the codes stored (a code already taken is not)."""
    if not codes:
        return set()
    rows = await conn.fetch(
        f"insert into maintenance_codes ({_NEW_COLUMNS})"
        " select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
        " $6::int[], $7::text[], $8::text[], $9::text[], $10::timestamptz[])"
        " on conflict do nothing returning code",
        *arrays(codes, _NEW_COLUMNS),
    )
    return {r["code"] for r in rows}


async def lock(conn: Connection, code: str) -> MaintenanceCode | None:
    row = await conn.fetchrow("select * from maintenance_codes where code = $1 for update", code)
    return None if row is None else MaintenanceCode.of(row)


async def mark_used(conn: Connection, code: str, license_id: uuid.UUID, at: datetime) -> None:
    await conn.execute(
        "update maintenance_codes set used_by_license = $2, used_at = $3 where code = $1",
        code,
        license_id,
        at,
    )


async def listed(
    pool: asyncpg.Pool, account_id: str | None, unused: bool | None, limit: int, offset: int
) -> list[ListedCode]:
    rows = await pool.fetch(
        "select m.code, m.sku, m.plan, m.product, m.term_months, m.order_id, m.account_id,"
        " m.bought_at, m.used_at, c.license_key as used_by_license_key"
        " from maintenance_codes m left join coverage c on c.license_id = m.used_by_license"
        " where ($1::text is null or m.account_id = $1)"
        " and ($2::boolean is null or (m.used_by_license is null) = $2)"
        " order by m.bought_at desc, m.code limit $3 offset $4",
        account_id,
        unused,
        limit,
        offset,
    )
    return [ListedCode.of(r) for r in rows]


async def refund(conn: Connection, order_id: str, line_ids: list[str] | None, at: datetime) -> None:
    """Codes of refunded lines can no longer be associated."""
    await conn.execute(
        "update maintenance_codes set refunded_at = $3 where order_id = $1"
        " and ($2::text[] is null or line_id = any($2::text[])) and refunded_at is null",
        order_id,
        line_ids,
        at,
    )
