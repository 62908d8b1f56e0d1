"""The maintenance tables."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg
from entitle_events.licensing import LicenseIssued

from services.catalog import MaintenancePlan
from services.runtime.db import Connection

from ..domain.coverage import LicenseFacts, Period
from ..domain.lifecycle import notice_at


async def insert_license(
    conn: Connection, lic: LicenseIssued, perpetual: bool, at: datetime
) -> bool:
    """Start tracking a license; False when it is already known."""
    inserted = await conn.fetchval(
        "insert into coverage (license_id, license_key, product, edition, account_id,"
        " contact_email, plan, purchased_at, major_version, perpetual, created_at, base_license_id,"
        " reseller_account_id)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::uuid, $13)"
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
        lic.base_license_id,
        lic.reseller_account_id,
    )
    return bool(inserted)


async def codes_of(
    pool: asyncpg.Pool, account_id: str | None, unused: bool | None, limit: int, offset: int
) -> list[dict[str, Any]]:
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
    return [dict(r) for r in rows]


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


def facts(row: Mapping[str, Any]) -> LicenseFacts:
    """The domain's view of a `coverage` row."""
    return LicenseFacts(
        purchased_at=row["purchased_at"],
        major_version=row["major_version"],
        product=row["product"],
        edition=row["edition"],
        status=row["status"],
    )


async def periods_of(conn: Connection, license_id: Any) -> list[Period]:
    rows = await conn.fetch(
        "select starts_at, ends_at, source from coverage_periods where license_id = $1"
        " order by starts_at, id",
        license_id,
    )
    return [Period(p["starts_at"], p["ends_at"], p["source"]) for p in rows]


async def lock_by_key(conn: Connection, key: str) -> tuple[dict[str, Any], list[Period]] | None:
    """The license row (locked for the transaction) and its periods."""
    row = await conn.fetchrow("select * from coverage where license_key = $1 for update", key)
    if row is None:
        return None
    return dict(row), await periods_of(conn, row["license_id"])


async def get_by_id(
    pool: asyncpg.Pool, license_id: Any
) -> tuple[dict[str, Any], list[Period]] | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow("select * from coverage where license_id = $1", license_id)
        if row is None:
            return None
        return dict(row), await periods_of(conn, row["license_id"])


async def refresh_end(conn: Connection, license_id: Any, plan: MaintenancePlan | None) -> None:
    """Recompute the cover end and the notice due date after periods changed."""
    row = await conn.fetchrow(
        "select c.perpetual, max(p.ends_at) as ends_at from coverage c"
        " left join coverage_periods p on p.license_id = c.license_id"
        " where c.license_id = $1 group by c.perpetual",
        license_id,
    )
    if row is None:
        return
    ends_at = None if row["perpetual"] else row["ends_at"]
    due = notice_at(plan, ends_at) if plan is not None and ends_at is not None else None
    await conn.execute(
        "update coverage set ends_at = $2, notice_at = $3 where license_id = $1",
        license_id,
        ends_at,
        due,
    )


def ref(row: Mapping[str, Any]) -> dict[str, Any]:
    """The CoverageRef fields of every coverage event."""
    return {
        "license_id": str(row["license_id"]),
        "license_key": row["license_key"],
        "product": row["product"],
        "account_id": row["account_id"],
        "contact_email": row["contact_email"],
    }
