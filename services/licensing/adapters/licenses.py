"""The licensing tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypeAlias
from uuid import UUID

import asyncpg
from entitle_events.commerce import Order
from entitle_events.versions import Version

from services.runtime.db import Connection

from ..domain.issuing import IssuedLicense
from ..domain.records import (
    ActivatedMachine,
    CoverageCut,
    CoverageRecorded,
    CoverageTakenBack,
    License,
    LicenseFilter,
    LineClaim,
    Owner,
    Release,
    ValidationRecord,
)

Reader: TypeAlias = "Connection | asyncpg.Pool"
"""Reads run in a unit of work or straight on the pool."""

# Every column of `licenses`, in the order of `License`'s fields.
_LICENSE = (
    "l.license_id, l.license_key, l.kind, l.product, l.edition, l.sku, l.account_id,"
    " l.company, l.contact_email, l.reseller_account_id, l.pooled, l.order_id, l.line_id,"
    " l.purchased_at, l.major_version, l.expires_at, l.auto_renew, l.max_activations,"
    " l.maintenance_plan, l.status, l.created_at, l.base_license_id"
)


async def upsert_accounts(
    conn: Connection, orders: Sequence[Order], at: datetime
) -> dict[str, str]:
    """Create each buyer's account on its first purchase, keep its company and address
    current; return every buyer's payment mode (chosen by its first purchase)."""
    first: dict[str, Order] = {}
    last: dict[str, Order] = {}
    for order in orders:  # one row per account: a statement may not update a row twice
        first.setdefault(order.buyer.account_id, order)
        last[order.buyer.account_id] = order
    rows = await conn.fetch(
        "insert into accounts (account_id, company, email, reseller, payment_mode, created_at)"
        " select a, c, e, r, m, $6 from unnest($1::text[], $2::text[], $3::text[],"
        " $4::boolean[], $5::text[]) as t(a, c, e, r, m)"
        " on conflict (account_id) do update set company = excluded.company,"
        " email = excluded.email returning account_id, payment_mode",
        list(first),
        [last[a].buyer.company for a in first],
        [last[a].buyer.email for a in first],
        [o.buyer.reseller for o in first.values()],
        [o.payment_mode for o in first.values()],
        at,
    )
    return {r["account_id"]: r["payment_mode"] for r in rows}


async def claim_lines(
    conn: Connection, claims: Sequence[LineClaim], at: datetime
) -> set[tuple[str, str]]:
    """Record that lines are handled; return the (order, line) of those that were not yet."""
    if not claims:
        return set()
    rows = await conn.fetch(
        "insert into order_lines (order_id, line_id, outcome, handled_at)"
        " select o, l, c, $4 from unnest($1::text[], $2::text[], $3::text[]) as t(o, l, c)"
        " on conflict do nothing returning order_id, line_id",
        [c.order_id for c in claims],
        [c.line_id for c in claims],
        [c.outcome for c in claims],
        at,
    )
    return {(r["order_id"], r["line_id"]) for r in rows}


async def insert_licenses(conn: Connection, issued: Sequence[IssuedLicense], at: datetime) -> None:
    if not issued:
        return
    specs = [i.spec for i in issued]
    await conn.execute(
        "insert into licenses (license_id, license_key, kind, product, edition, sku, account_id,"
        " company, contact_email, reseller_account_id, pooled, order_id, line_id, purchased_at,"
        " major_version, expires_at, auto_renew, max_activations, maintenance_plan,"
        " base_license_id, created_at)"
        " select *, $21::timestamptz from unnest($1::uuid[], $2::text[], $3::text[], $4::text[],"
        " $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],"
        " $11::boolean[], $12::text[], $13::text[], $14::timestamptz[], $15::int[],"
        " $16::timestamptz[], $17::boolean[], $18::int[], $19::text[], $20::uuid[])",
        [s.license_id for s in specs],
        [i.key for i in issued],
        [s.kind for s in specs],
        [s.product for s in specs],
        [s.edition for s in specs],
        [s.sku for s in specs],
        [s.account_id for s in specs],
        [s.company for s in specs],
        [s.contact_email for s in specs],
        [s.reseller_account_id for s in specs],
        [s.pooled for s in specs],
        [s.order_id for s in specs],
        [s.line_id for s in specs],
        [s.purchased_at for s in specs],
        [s.major_version for s in specs],
        [s.expires_at for s in specs],
        [s.auto_renew for s in specs],
        [s.max_activations for s in specs],
        [s.maintenance_plan for s in specs],
        [s.base_license_id for s in specs],
        at,
    )


async def license_by_key(db: Reader, key: str) -> License | None:
    row = await db.fetchrow(f"select {_LICENSE} from licenses l where l.license_key = $1", key)
    return License(**row) if row else None


async def lock_by_key(conn: Connection, key: str) -> License | None:
    """The license, locked for the rest of the transaction (seat counting)."""
    row = await conn.fetchrow(
        f"select {_LICENSE} from licenses l where l.license_key = $1 for update", key
    )
    return License(**row) if row else None


async def machines_of(
    db: Reader, license_ids: Sequence[UUID]
) -> dict[UUID, tuple[ActivatedMachine, ...]]:
    """The machines each license is activated on, in the order they were activated."""
    rows = await db.fetch(
        "select license_id, fingerprint, platform, hostname, activated_at from activations"
        " where license_id = any($1::uuid[]) order by activated_at, fingerprint",
        license_ids,
    )
    machines: dict[UUID, list[ActivatedMachine]] = {i: [] for i in license_ids}
    for r in rows:
        machines[r["license_id"]].append(
            ActivatedMachine(r["fingerprint"], r["platform"], r["hostname"], r["activated_at"])
        )
    return {i: tuple(found) for i, found in machines.items()}


async def add_activation(conn: Connection, license_id: UUID, machine: ActivatedMachine) -> bool:
    inserted = await conn.fetchval(
        "insert into activations (license_id, fingerprint, platform, hostname, activated_at)"
        " values ($1, $2, $3, $4, $5) on conflict do nothing returning true",
        license_id,
        machine.fingerprint,
        machine.platform,
        machine.hostname,
        machine.activated_at,
    )
    return bool(inserted)


async def remove_activation(conn: Connection, license_id: UUID, fingerprint: str) -> bool:
    deleted = await conn.fetchval(
        "delete from activations where license_id = $1 and fingerprint = $2 returning true",
        license_id,
        fingerprint,
    )
    return bool(deleted)


class Lookup(NamedTuple):
    """One validation's question: a key, and the machine and version it asks about."""

    key: str
    fingerprint: str | None
    version: tuple[int, int, int] | None


async def validation_facts(
    db: Reader, key: str, fingerprint: str | None, version: tuple[int, int, int] | None
) -> ValidationRecord | None:
    [found] = await validation_facts_of(db, [Lookup(key, fingerprint, version)])
    return found


async def validation_facts_of(
    db: Reader, lookups: Sequence[Lookup]
) -> list[ValidationRecord | None]:
    """Everything each validation needs, for many at once, in one read-only round trip.

    An add-on license is entitled as its base license is: versions, release dates and
    coverage come from the base (`e`), seats from the add-on itself (`l`), and its status is
    the add-on's unless the base's is worse.
    """
    rows = await db.fetch(
        # An add-on is no more usable than its base: a revoked base revokes the add-on too.
        "select q.i, l.license_id,"
        " case when l.status = 'active' then e.status else l.status end as status,"
        " l.expires_at, l.max_activations, e.major_version,"
        " e.purchased_at, l.product, e.maintenance_plan,"
        " (select count(*) from activations a where a.license_id = l.license_id) as activations,"
        " exists (select 1 from activations a where a.license_id = l.license_id"
        "         and a.fingerprint = q.fingerprint) as fingerprint_activated,"
        " coalesce(c.perpetual, false) as perpetual,"
        " coalesce((select array_agg(array[p.starts_at, p.ends_at]) from coverage_periods p"
        "           where p.license_id = e.license_id), '{}') as periods,"
        " (select r.released_at from releases r where r.product = e.product"
        "  and r.major = q.major and r.minor = q.minor and r.patch = q.patch) as release_date"
        " from unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::int[])"
        "  with ordinality as q(key, fingerprint, major, minor, patch, i)"
        " join licenses l on l.license_key = q.key"
        " join licenses e on e.license_id = coalesce(l.base_license_id, l.license_id)"
        " left join coverage c on c.license_id = e.license_id",
        [q.key for q in lookups],
        [q.fingerprint for q in lookups],
        *([q.version[part] if q.version else None for q in lookups] for part in range(3)),
    )
    found: list[ValidationRecord | None] = [None] * len(lookups)
    for row in rows:
        # The select's columns after the position are the record's fields, in order.
        found[row[0] - 1] = ValidationRecord._make(
            (*row[1:12], tuple((p[0], p[1]) for p in row[12]), row[13])
        )
    return found


async def set_major(conn: Connection, license_id: UUID, major_version: int) -> None:
    await conn.execute(
        "update licenses set major_version = $2 where license_id = $1", license_id, major_version
    )


async def set_status(conn: Connection, license_ids: Sequence[UUID], status: str) -> None:
    await conn.execute(
        "update licenses set status = $2 where license_id = any($1::uuid[])", license_ids, status
    )


async def by_order(conn: Connection, order_id: str) -> list[License]:
    """The order's licenses, locked for the rest of the transaction."""
    rows = await conn.fetch(
        f"select {_LICENSE} from licenses l where l.order_id = $1"
        " order by l.line_id, l.license_id for update",
        order_id,
    )
    return [License(**r) for r in rows]


async def change_owner(conn: Connection, license_id: UUID, owner: Owner) -> None:
    await conn.execute(
        "update licenses set account_id = $2, company = $3, contact_email = $4, pooled = false"
        " where license_id = $1",
        license_id,
        owner.account_id,
        owner.company,
        owner.email,
    )


async def search(
    db: Reader, wanted: LicenseFilter, now: datetime, limit: int, offset: int
) -> list[License]:
    """The licenses `wanted` selects, newest purchase first."""
    where: list[str] = []
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if wanted.viewer is not None:
        viewer = arg(wanted.viewer)
        where.append(f"(l.account_id = {viewer} or l.reseller_account_id = {viewer})")
    if wanted.account is not None:
        where.append(f"l.account_id = {arg(wanted.account)}")
    if wanted.kind == "commercial":
        where.append("l.kind <> 'trial'")
    elif wanted.kind is not None:
        where.append(f"l.kind = {arg(wanted.kind)}")
    if wanted.product is not None:
        where.append(f"l.product = {arg(wanted.product)}")
    if wanted.order_id is not None:
        where.append(f"l.order_id = {arg(wanted.order_id)}")
    if wanted.email is not None:
        where.append(f"lower(l.contact_email) = lower({arg(wanted.email)})")
    if wanted.state == "valid":
        where.append(f"l.status = 'active' and (l.expires_at is null or l.expires_at > {arg(now)})")
    elif wanted.state == "expired":
        where.append(f"(l.status = 'expired' or l.expires_at <= {arg(now)})")
    if wanted.usage is not None:
        used = "exists" if wanted.usage == "used" else "not exists"
        where.append(f"{used} (select 1 from activations a where a.license_id = l.license_id)")
    if wanted.auto_renew is not None:
        where.append(f"l.auto_renew = {arg(wanted.auto_renew)}")
    clause = f"where {' and '.join(where)}" if where else ""
    rows = await db.fetch(
        f"select {_LICENSE} from licenses l {clause}"
        f" order by l.purchased_at desc, l.license_id limit {arg(limit)} offset {arg(offset)}",
        *args,
    )
    return [License(**r) for r in rows]


async def set_expiry(conn: Connection, license_id: UUID, expires_at: datetime, status: str) -> None:
    await conn.execute(
        "update licenses set expires_at = $2, status = $3 where license_id = $1",
        license_id,
        expires_at,
        status,
    )


async def claim_expired(conn: Connection, now: datetime, limit: int) -> list[License]:
    rows = await conn.fetch(
        f"select {_LICENSE} from licenses l where l.status = 'active'"
        " and l.expires_at is not null and l.expires_at <= $1"
        " order by l.expires_at limit $2 for update of l skip locked",
        now,
        limit,
    )
    return [License(**r) for r in rows]


async def lock_releases(conn: Connection, product: str) -> None:
    """Publish one release of a product at a time (the kind depends on those before)."""
    await conn.execute("select pg_advisory_xact_lock(hashtext($1))", product)


async def insert_release(
    conn: Connection, product: str, version: Version, released_at: datetime, kind: str
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


async def releases_of(db: Reader, product: str, limit: int) -> list[Release]:
    rows = await db.fetch(
        "select product, version, release_kind, released_at from releases where product = $1"
        " order by major desc, minor desc, patch desc limit $2",
        product,
        limit,
    )
    return [Release(**r) for r in rows]


async def highest_major(conn: Connection, product: str) -> int | None:
    value = await conn.fetchval("select max(major) from releases where product = $1", product)
    return int(value) if value is not None else None


async def record_coverage(
    conn: Connection, recorded: Sequence[CoverageRecorded], at: datetime
) -> None:
    """Each license's latest perpetual flag, and every period, once (license ids distinct)."""
    if not recorded:
        return
    await conn.execute(
        "insert into coverage (license_id, perpetual, updated_at)"
        " select l, p, $3 from unnest($1::uuid[], $2::boolean[]) as t(l, p)"
        " on conflict (license_id) do update set perpetual = excluded.perpetual,"
        " updated_at = excluded.updated_at",
        [r.license_id for r in recorded],
        [r.perpetual for r in recorded],
        at,
    )
    periods = [(r.license_id, start, end) for r in recorded for start, end in r.periods]
    if periods:
        await conn.execute(
            "insert into coverage_periods (license_id, starts_at, ends_at)"
            " select * from unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[])"
            " on conflict do nothing",
            *_columns(periods, 3),
        )


async def withdraw_coverage(conn: Connection, taken_back: Sequence[CoverageTakenBack]) -> None:
    """Periods a refund took back no longer cover the license."""
    periods = [(t.license_id, start, end) for t in taken_back for start, end in t.periods]
    if not periods:
        return
    await conn.execute(
        "delete from coverage_periods p"
        " using unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) as t(l, s, e)"
        " where p.license_id = t.l and p.starts_at = t.s and p.ends_at = t.e",
        *_columns(periods, 3),
    )


async def end_coverage(conn: Connection, cuts: Sequence[CoverageCut]) -> None:
    """Coverage ended early (license revoked): nothing is covered after `ended_at` (license
    ids distinct)."""
    if not cuts:
        return
    ids = [c.license_id for c in cuts]
    ends = [c.ended_at for c in cuts]
    await conn.execute(
        "update coverage c set perpetual = false, updated_at = t.e"
        " from unnest($1::uuid[], $2::timestamptz[]) as t(l, e) where c.license_id = t.l",
        ids,
        ends,
    )
    # Insert-then-delete rather than update: applied again (a projection rebuild), the cut
    # period already exists and an update would collide with it.
    await conn.execute(
        "insert into coverage_periods (license_id, starts_at, ends_at)"
        " select p.license_id, p.starts_at, t.e from coverage_periods p"
        " join unnest($1::uuid[], $2::timestamptz[]) as t(l, e) on p.license_id = t.l"
        " where p.ends_at > t.e and p.starts_at < t.e on conflict do nothing",
        ids,
        ends,
    )
    await conn.execute(
        "delete from coverage_periods p using unnest($1::uuid[], $2::timestamptz[]) as t(l, e)"
        " where p.license_id = t.l and p.ends_at > t.e",
        ids,
        ends,
    )


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows as the column arrays `unnest` takes."""
    return [[row[i] for row in rows] for i in range(width)]
