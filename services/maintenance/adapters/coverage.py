"""The maintenance tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from entitle_events.licensing import LicenseIssued

from services.runtime.db import Connection

from ..domain.coverage import Period


async def insert_license(
    conn: Connection, lic: LicenseIssued, perpetual: bool, at: datetime
) -> bool:
    """Start tracking a license; False when it is already known."""
    inserted = await conn.fetchval(
        "insert into coverage (license_id, license_key, product, edition, account_id,"
        " contact_email, plan, purchased_at, major_version, perpetual, created_at)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " on conflict do nothing returning true",
        lic.license_id,
        lic.license_key,
        lic.product,
        lic.edition,
        lic.account_id,
        lic.contact_email,
        lic.maintenance_plan,
        lic.purchased_at,
        lic.major_version,
        perpetual,
        at,
    )
    return bool(inserted)


async def add_periods(
    conn: Connection,
    license_id: str,
    periods: list[Period],
    order_id: str | None,
    line_id: str | None,
) -> None:
    await conn.executemany(
        "insert into coverage_periods (license_id, starts_at, ends_at, source, order_id, line_id)"
        " values ($1, $2, $3, $4, $5, $6)",
        [(license_id, p.starts_at, p.ends_at, p.source, order_id, line_id) for p in periods],
    )


async def get_by_key(pool: asyncpg.Pool, key: str) -> tuple[dict[str, Any], list[Period]] | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow("select * from coverage where license_key = $1", key)
        if row is None:
            return None
        periods = await conn.fetch(
            "select starts_at, ends_at, source from coverage_periods where license_id = $1"
            " order by starts_at, id",
            row["license_id"],
        )
    return dict(row), [Period(p["starts_at"], p["ends_at"], p["source"]) for p in periods]
