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
        " major_version, expires_at, auto_renew, max_activations, maintenance_plan, created_at,"
        " base_license_id)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
        " $18, $19, $20, $21)",
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
        spec.base_license_id,
    )


async def get_by_key(conn: Connection | asyncpg.Pool, key: str) -> dict[str, Any] | None:
    row = await conn.fetchrow("select * from licenses where license_key = $1", key)
    return dict(row) if row else None


async def lock_by_key(conn: Connection, key: str) -> dict[str, Any] | None:
    """The license row, locked for the rest of the transaction (seat counting)."""
    row = await conn.fetchrow("select * from licenses where license_key = $1 for update", key)
    return dict(row) if row else None


async def activations_of(conn: Connection | asyncpg.Pool, license_id: Any) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "select fingerprint, platform, hostname, activated_at from activations"
        " where license_id = $1 order by activated_at, fingerprint",
        license_id,
    )
    return [dict(r) for r in rows]


async def add_activation(
    conn: Connection, license_id: Any, fingerprint: str, platform: str, hostname: str, at: datetime
) -> bool:
    inserted = await conn.fetchval(
        "insert into activations (license_id, fingerprint, platform, hostname, activated_at)"
        " values ($1, $2, $3, $4, $5) on conflict do nothing returning true",
        license_id,
        fingerprint,
        platform,
        hostname,
        at,
    )
    return bool(inserted)


async def remove_activation(conn: Connection, license_id: Any, fingerprint: str) -> bool:
    deleted = await conn.fetchval(
        "delete from activations where license_id = $1 and fingerprint = $2 returning true",
        license_id,
        fingerprint,
    )
    return bool(deleted)


async def validation_facts(
    pool: asyncpg.Pool, key: str, fingerprint: str | None, version: tuple[int, int, int] | None
) -> dict[str, Any] | None:
    """Everything validation needs in one read-only round trip.

    An add-on license is entitled as its base license is: versions, release dates and
    coverage come from the base (`e`), seats from the add-on itself (`l`), and its status is
    the add-on's unless the base's is worse.
    """
    row = await pool.fetchrow(
        # An add-on is no more usable than its base: a revoked base revokes the add-on too.
        "select l.license_id,"
        " case when l.status = 'active' then e.status else l.status end as status,"
        " l.expires_at, l.max_activations, e.major_version,"
        " e.purchased_at, l.product, e.maintenance_plan,"
        " (select count(*) from activations a where a.license_id = l.license_id) as activations,"
        " exists (select 1 from activations a where a.license_id = l.license_id"
        "         and a.fingerprint = $2) as fingerprint_activated,"
        " coalesce(c.perpetual, false) as perpetual,"
        " coalesce((select array_agg(array[p.starts_at, p.ends_at]) from coverage_periods p"
        "           where p.license_id = e.license_id), '{}') as periods,"
        " (select r.released_at from releases r where r.product = e.product"
        "  and r.major = $3 and r.minor = $4 and r.patch = $5) as release_date"
        " from licenses l"
        " join licenses e on e.license_id = coalesce(l.base_license_id, l.license_id)"
        " left join coverage c on c.license_id = e.license_id"
        " where l.license_key = $1",
        key,
        fingerprint,
        *(version or (None, None, None)),
    )
    return dict(row) if row else None


async def set_status(conn: Connection, license_id: Any, status: str) -> None:
    await conn.execute("update licenses set status = $2 where license_id = $1", license_id, status)


async def by_order(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "select * from licenses where order_id = $1 order by line_id, license_id for update",
        order_id,
    )
    return [dict(r) for r in rows]


async def change_owner(
    conn: Connection, license_id: Any, account_id: str, company: str, email: str
) -> None:
    await conn.execute(
        "update licenses set account_id = $2, company = $3, contact_email = $4, pooled = false"
        " where license_id = $1",
        license_id,
        account_id,
        company,
        email,
    )


async def search(
    pool: asyncpg.Pool, where: list[str], args: list[Any], limit: int, offset: int
) -> list[dict[str, Any]]:
    clause = f"where {' and '.join(where)}" if where else ""
    n = len(args)
    rows = await pool.fetch(
        "select l.*, (select count(*) from activations a where a.license_id = l.license_id)"
        f" as activations from licenses l {clause}"
        f" order by l.purchased_at desc, l.license_id limit ${n + 1} offset ${n + 2}",
        *args,
        limit,
        offset,
    )
    return [dict(r) for r in rows]


async def set_expiry(conn: Connection, license_id: Any, expires_at: datetime, status: str) -> None:
    await conn.execute(
        "update licenses set expires_at = $2, status = $3 where license_id = $1",
        license_id,
        expires_at,
        status,
    )


async def claim_expired(conn: Connection, now: datetime, limit: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "select * from licenses where status = 'active' and expires_at is not null"
        " and expires_at <= $1 order by expires_at limit $2 for update skip locked",
        now,
        limit,
    )
    return [dict(r) for r in rows]


async def insert_release(
    conn: Connection, product: str, version: Any, released_at: datetime, kind: str
) -> bool:
    inserted = await conn.fetchval(
        "insert into releases (product, version, major, minor, patch, released_at, release_kind)"
        " values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing returning true",
        product,
        str(version),
        version.major,
        version.minor,
        version.patch,
        released_at,
        kind,
    )
    return bool(inserted)


async def releases_of(pool: Any, product: str, limit: int) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "select product, version, release_kind, released_at from releases where product = $1"
        " order by major desc, minor desc, patch desc limit $2",
        product,
        limit,
    )
    return [dict(r) for r in rows]


async def highest_major(conn: Connection, product: str) -> int | None:
    value = await conn.fetchval("select max(major) from releases where product = $1", product)
    return int(value) if value is not None else None


async def record_coverage(
    conn: Connection,
    license_id: str,
    periods: list[tuple[datetime, datetime]],
    perpetual: bool,
    at: datetime,
) -> None:
    await conn.execute(
        "insert into coverage (license_id, perpetual, updated_at) values ($1, $2, $3)"
        " on conflict (license_id) do update set perpetual = excluded.perpetual,"
        " updated_at = excluded.updated_at",
        license_id,
        perpetual,
        at,
    )
    await conn.executemany(
        "insert into coverage_periods (license_id, starts_at, ends_at) values ($1, $2, $3)"
        " on conflict do nothing",
        [(license_id, start, end) for start, end in periods],
    )


async def end_coverage(conn: Connection, license_id: str, ended_at: datetime) -> None:
    """Coverage ended early (license revoked): nothing is covered after `ended_at`."""
    await conn.execute(
        "update coverage set perpetual = false, updated_at = $2 where license_id = $1",
        license_id,
        ended_at,
    )
    # Insert-then-delete rather than update: applied again (a projection rebuild), the cut
    # period already exists and an update would collide with it.
    await conn.execute(
        "insert into coverage_periods (license_id, starts_at, ends_at)"
        " select license_id, starts_at, $2 from coverage_periods"
        " where license_id = $1 and ends_at > $2 and starts_at < $2 on conflict do nothing",
        license_id,
        ended_at,
    )
    await conn.execute(
        "delete from coverage_periods where license_id = $1 and ends_at > $2",
        license_id,
        ended_at,
    )
