"""The maintenance tables of licenses and their cover: `coverage`, `coverage_periods`,
`coverage_notices`."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import asyncpg

from services.policy.coverage import Period
from services.runtime.db import Connection

from ..domain.records import Coverage
from .columns import arrays

CoverWithPeriods = tuple[Coverage, list[Period]]

BOUGHT_SOURCES: Final = ["purchase", "renewal", "association", "upgrade"]
"""The sources of periods that an order paid for (and its refund takes back)."""

_DUE: Final = {
    # Still running at the notice date: the end has not come yet (else `lapsed` is due).
    "expiring": "c.notice_at <= $1 and c.ends_at > $1",
    "lapsed": "c.ends_at <= $1",
}


_NEW_COLUMNS: Final = (
    "license_id, license_key, product, edition, account_id, contact_email, plan, purchased_at,"
    " major_version, perpetual, status, ends_at, notice_at, base_license_id, reseller_account_id"
)


@dataclass(frozen=True, slots=True)
class NewPeriod:
    """A period to store for a license, with the order line that bought it (if any)."""

    license_id: uuid.UUID
    period: Period
    order_id: str | None
    line_id: str | None


async def insert_licenses(
    conn: Connection, licenses: Sequence[Coverage], at: datetime
) -> set[uuid.UUID]:
    """Start tracking licenses, in one statement; the ids of those that were not known yet
    (of several rows with one id or key, the first is kept)."""
    rows = await conn.fetch(
        f"insert into coverage ({_NEW_COLUMNS}, created_at)"
        f" select {_NEW_COLUMNS}, $16::timestamptz from unnest($1::uuid[], $2::text[],"
        " $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[],"
        " $9::int[], $10::boolean[], $11::text[], $12::timestamptz[], $13::timestamptz[],"
        f" $14::uuid[], $15::text[]) with ordinality as t({_NEW_COLUMNS}, n) order by n"
        " on conflict do nothing returning license_id",
        *arrays(licenses, _NEW_COLUMNS),
        at,
    )
    return {r["license_id"] for r in rows}


async def save(conn: Connection, licenses: Sequence[Coverage]) -> None:
    """Store the plan, major, cover end and notice date of licenses, in one statement."""
    if not licenses:
        return
    await conn.execute(
        "update coverage c set plan = t.plan, major_version = t.major_version,"
        " ends_at = t.ends_at, notice_at = t.notice_at"
        " from unnest($1::uuid[], $2::text[], $3::int[], $4::timestamptz[], $5::timestamptz[])"
        " as t(license_id, plan, major_version, ends_at, notice_at)"
        " where c.license_id = t.license_id",
        *arrays(licenses, "license_id, plan, major_version, ends_at, notice_at"),
    )


async def add_periods(conn: Connection, periods: Sequence[NewPeriod]) -> None:
    """Store periods, in their order, in one statement."""
    if not periods:
        return
    await conn.execute(
        "insert into coverage_periods (license_id, starts_at, ends_at, source, order_id, line_id)"
        " select license_id, starts_at, ends_at, source, order_id, line_id"
        " from unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::text[], $5::text[],"
        " $6::text[]) with ordinality"
        " as t(license_id, starts_at, ends_at, source, order_id, line_id, n) order by n",
        [p.license_id for p in periods],
        [p.period.starts_at for p in periods],
        [p.period.ends_at for p in periods],
        [p.period.source for p in periods],
        [p.order_id for p in periods],
        [p.line_id for p in periods],
    )


async def periods_of(
    conn: Connection, license_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[Period]]:
    """The periods of each license, in order (a license without any has no entry)."""
    by_license: dict[uuid.UUID, list[Period]] = {}
    if not license_ids:
        return by_license
    for p in await conn.fetch(
        "select license_id, starts_at, ends_at, source from coverage_periods"
        " where license_id = any($1::uuid[]) order by starts_at, id",
        list(license_ids),
    ):
        by_license.setdefault(p["license_id"], []).append(
            Period(p["starts_at"], p["ends_at"], p["source"])
        )
    return by_license


async def _with_periods(conn: Connection, row: asyncpg.Record | None) -> CoverWithPeriods | None:
    if row is None:
        return None
    found = Coverage.of(row)
    periods = await periods_of(conn, [found.license_id])
    return found, periods.get(found.license_id, [])


async def get_by_key(pool: asyncpg.Pool, key: str) -> CoverWithPeriods | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow("select * from coverage where license_key = $1", key)
        return await _with_periods(conn, row)


async def get_by_id(pool: asyncpg.Pool, license_id: uuid.UUID) -> CoverWithPeriods | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow("select * from coverage where license_id = $1", license_id)
        return await _with_periods(conn, row)


async def lock_by_key(conn: Connection, key: str) -> CoverWithPeriods | None:
    """The license (locked for the transaction) and its periods."""
    row = await conn.fetchrow("select * from coverage where license_key = $1 for update", key)
    return await _with_periods(conn, row)


async def lock_by_keys(conn: Connection, keys: Collection[str]) -> dict[str, Coverage]:
    """The licenses with these keys, locked for the transaction (in one order, so that two
    transactions locking overlapping sets wait rather than deadlock)."""
    if not keys:
        return {}
    rows = await conn.fetch(
        "select * from coverage where license_key = any($1::text[]) order by license_id for update",
        list(keys),
    )
    return {r["license_key"]: Coverage.of(r) for r in rows}


async def by_ids(
    conn: Connection, license_ids: Collection[uuid.UUID], *, lock: bool = False
) -> dict[uuid.UUID, Coverage]:
    """The licenses with these ids; with `lock`, locked for the transaction (in id order)."""
    if not license_ids:
        return {}
    rows = await conn.fetch(
        "select * from coverage where license_id = any($1::uuid[])"
        + (" order by license_id for update" if lock else ""),
        list(license_ids),
    )
    return {r["license_id"]: Coverage.of(r) for r in rows}


async def active_page(
    conn: Connection, products: list[str], after: uuid.UUID | None, limit: int
) -> list[Coverage]:
    """A keyset page of the active licenses of `products`, by id, after `after`."""
    rows = await conn.fetch(
        "select * from coverage where product = any($1::text[]) and status = 'active'"
        " and ($2::uuid is null or license_id > $2) order by license_id limit $3",
        products,
        after,
        limit,
    )
    return [Coverage.of(r) for r in rows]


async def set_status(
    conn: Connection, license_id: str, status: str, at: datetime, *, only_from: tuple[str, ...]
) -> Coverage | None:
    """Move the license to `status` when it is in one of `only_from`; the license, or None."""
    row = await conn.fetchrow(
        "update coverage set status = $2, status_changed_at = $3"
        " where license_id = $1::uuid and status = any($4::text[]) returning *",
        license_id,
        status,
        at,
        list(only_from),
    )
    return None if row is None else Coverage.of(row)


async def set_owner(conn: Connection, license_id: str, account_id: str, contact_email: str) -> None:
    await conn.execute(
        "update coverage set account_id = $2, contact_email = $3 where license_id = $1::uuid",
        license_id,
        account_id,
        contact_email,
    )


async def withdraw_periods(
    conn: Connection, order_id: str, line_ids: list[str] | None
) -> dict[uuid.UUID, list[Period]]:
    """Delete the bought periods of an order's lines (all lines when `line_ids` is None);
    the deleted periods by license. A new license's own cover (complimentary, included)
    ends with the license when its order is refunded, so it is left to that."""
    rows = await conn.fetch(
        "delete from coverage_periods where order_id = $1"
        " and ($2::text[] is null or line_id = any($2::text[]))"
        " and source = any($3::text[]) returning license_id, starts_at, ends_at, source",
        order_id,
        line_ids,
        BOUGHT_SOURCES,
    )
    withdrawn: dict[uuid.UUID, list[Period]] = {}
    for r in sorted(rows, key=lambda r: r["starts_at"]):
        withdrawn.setdefault(r["license_id"], []).append(
            Period(r["starts_at"], r["ends_at"], r["source"])
        )
    return withdrawn


async def due_for_notice(conn: Connection, kind: str, now: datetime, limit: int) -> list[Coverage]:
    """Active licenses whose `kind` notice for their current cover end is due and not sent,
    locked (`SKIP LOCKED`: several copies of the service share the work)."""
    rows = await conn.fetch(
        f"select c.* from coverage c where c.status = 'active' and not c.perpetual"
        f" and c.ends_at is not null and {_DUE[kind]}"
        " and not exists (select 1 from coverage_notices n where n.license_id ="
        " c.license_id and n.kind = $2 and n.period_end = c.ends_at)"
        " order by c.ends_at, c.license_id limit $3 for update of c skip locked",
        now,
        kind,
        limit,
    )
    return [Coverage.of(r) for r in rows]


async def record_notices(
    conn: Connection, kind: str, licenses: Sequence[Coverage], sent_at: datetime
) -> None:
    """The `kind` notice for the current cover end of each license is sent."""
    if not licenses:
        return
    await conn.execute(
        "insert into coverage_notices (license_id, kind, period_end, sent_at)"
        " select license_id, $2, period_end, $4"
        " from unnest($1::uuid[], $3::timestamptz[]) as t(license_id, period_end)",
        [c.license_id for c in licenses],
        kind,
        [c.ends_at for c in licenses],
        sent_at,
    )
