"""The entitlement projection: licenses, coverage, incident credits, support
plans, partners and releases, kept from the other services' events.

Handlers are upserts keyed by the aggregate, so a redelivered event changes nothing (the
runtime's inbox already drops exact duplicates).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from entitle_events import Event
from entitle_events.commerce import OrderPlaced, OrderRefunded
from entitle_events.licensing import (
    LicenseAssigned,
    LicenseDeactivated,
    LicenseExpired,
    LicenseIssued,
    LicenseReinstated,
    LicenseRenewed,
    LicenseRevoked,
    LicenseSuspended,
    LicenseTransferred,
    ReleasePublished,
)
from entitle_events.maintenance import (
    CoverageEnded,
    CoverageExtended,
    CoverageLapsed,
    CoverageStarted,
    CoverageWithdrawn,
)

from services.policy.catalog import Catalog
from services.policy.coverage import add_months
from services.runtime.context import Context
from services.runtime.db import Connection

LICENSE_EVENTS = (
    LicenseIssued,
    LicenseRenewed,
    LicenseRevoked,
    LicenseExpired,
    LicenseSuspended,
    LicenseReinstated,
    LicenseDeactivated,
    LicenseAssigned,
    LicenseTransferred,
)
COVERAGE_EVENTS = (
    CoverageStarted,
    CoverageExtended,
    CoverageLapsed,
    CoverageEnded,
    CoverageWithdrawn,
)


async def _set_status(conn: Connection, license_id: str, status: str, at: datetime) -> None:
    await conn.execute(
        "update ent_licenses set status = $2, updated_at = $3 where license_id = $1",
        license_id,
        status,
        at,
    )


async def on_license_event(ctx: Context, event: Event[Any]) -> None:
    data = event.data
    conn, now = ctx.conn, ctx.now()
    if isinstance(data, LicenseIssued):
        await conn.execute(
            "insert into ent_licenses (license_id, account_id, product, kind, purchased_at,"
            " expires_at, major_version, updated_at, license_key, edition)"
            " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            " on conflict (license_id) do update set license_key = excluded.license_key,"
            " edition = excluded.edition where ent_licenses.license_key is null",
            data.license_id,
            data.account_id,
            data.product,
            data.kind,
            data.purchased_at,
            data.expires_at,
            data.major_version,
            now,
            data.license_key,
            data.edition,
        )
    elif isinstance(data, LicenseRenewed):
        await conn.execute(
            "update ent_licenses set expires_at = $2, status = case when status = 'expired'"
            " then 'active' else status end, updated_at = $3 where license_id = $1",
            data.license_id,
            data.expires_at,
            now,
        )
    elif isinstance(data, LicenseRevoked):
        await _set_status(conn, data.license_id, "revoked", now)
    elif isinstance(data, LicenseExpired):
        await _set_status(conn, data.license_id, "expired", now)
    elif isinstance(data, LicenseSuspended):
        await _set_status(conn, data.license_id, "suspended", now)
    elif isinstance(data, LicenseReinstated):
        await _set_status(conn, data.license_id, "active", now)
    elif isinstance(data, LicenseDeactivated):
        if data.fingerprint is None:  # the whole license, not one machine
            await _set_status(conn, data.license_id, "deactivated", now)
    elif isinstance(data, LicenseAssigned | LicenseTransferred):
        for table in ("ent_licenses", "ent_coverage"):
            await conn.execute(
                f"update {table} set account_id = $2, updated_at = $3 where license_id = $1",
                data.license_id,
                data.account_id,
                now,
            )


async def on_coverage_event(ctx: Context, event: Event[Any]) -> None:
    data = event.data
    conn, now = ctx.conn, ctx.now()
    if isinstance(data, CoverageStarted | CoverageExtended):
        await conn.execute(
            "insert into ent_coverage (license_id, account_id, product, covered, ends_at,"
            " perpetual, updated_at, plan) values ($1, $2, $3, true, $4, $5, $6, $7)"
            " on conflict (license_id) do update set account_id = excluded.account_id,"
            " covered = true, ends_at = case when ent_coverage.ends_at is null"
            " or excluded.ends_at is null then excluded.ends_at"
            " else greatest(ent_coverage.ends_at, excluded.ends_at) end,"
            " perpetual = excluded.perpetual, updated_at = excluded.updated_at,"
            " plan = excluded.plan",
            data.license_id,
            data.account_id,
            data.product,
            data.ends_at,
            data.ends_at is None,
            now,
            data.plan,
        )
    elif isinstance(data, CoverageWithdrawn):
        # A refund took cover back: what remains ends at `ends_at` (none left: not covered).
        await conn.execute(
            "update ent_coverage set ends_at = $2::timestamptz,"
            " covered = $2::timestamptz is not null, updated_at = $3 where license_id = $1",
            data.license_id,
            data.ends_at,
            now,
        )
    elif isinstance(data, CoverageLapsed | CoverageEnded):
        await conn.execute(
            "insert into ent_coverage (license_id, account_id, product, covered, ends_at,"
            " perpetual, updated_at) values ($1, $2, $3, false, $4, false, $5)"
            " on conflict (license_id) do update set covered = false, perpetual = false,"
            " ends_at = excluded.ends_at, updated_at = excluded.updated_at",
            data.license_id,
            data.account_id,
            data.product,
            data.ended_at,
            now,
        )


async def on_order_placed(
    ctx: Context, event: Event[Any], catalog: Catalog, plan_months: int = 12
) -> None:
    """Incident packs grant credits; support plans grant a plan; reseller buyers are partners."""
    data = event.data
    assert isinstance(data, OrderPlaced)
    conn = ctx.conn
    account = (data.end_customer or data.buyer).account_id
    if data.buyer.reseller:
        await conn.execute(
            "insert into ent_partners (account_id, since) values ($1, $2) on conflict do nothing",
            data.buyer.account_id,
            data.placed_at,
        )
    for line in data.lines:
        sku = catalog.sku(line.sku)
        if sku is None:
            continue
        if sku.kind == "incident_pack" and sku.incidents > 0:
            await conn.execute(
                "insert into ent_credit_grants (order_id, line_id, account_id, product, credits,"
                " granted_at) values ($1, $2, $3, $4, $5, $6) on conflict do nothing",
                data.order_id,
                line.line_id,
                account,
                sku.product,
                sku.incidents * line.quantity,
                data.placed_at,
            )
        elif sku.kind == "support_plan":
            months = (sku.term_months or plan_months) * line.quantity
            await conn.execute(
                "insert into ent_support_plans (order_id, line_id, account_id, product,"
                " starts_at, ends_at) values ($1, $2, $3, $4, $5, $6) on conflict do nothing",
                data.order_id,
                line.line_id,
                account,
                sku.product,
                data.placed_at,
                add_months(data.placed_at, months),
            )


async def on_order_refunded(ctx: Context, event: Event[Any]) -> None:
    """A refunded incident pack or support plan no longer entitles: its credits and plan are
    withdrawn (credits already used on tickets stay used; what is left cannot go below none)."""
    data = event.data
    assert isinstance(data, OrderRefunded)
    for table in ("ent_credit_grants", "ent_support_plans"):
        await ctx.conn.execute(
            f"delete from {table} where order_id = $1"
            " and ($2::text[] is null or line_id = any($2::text[]))",
            data.order_id,
            data.line_ids,
        )


async def on_release_published(ctx: Context, event: Event[Any]) -> None:
    data = event.data
    assert isinstance(data, ReleasePublished)
    await ctx.conn.execute(
        "insert into ent_releases (product, version, major, released_at)"
        " values ($1, $2, $3, $4) on conflict do nothing",
        data.product,
        data.version,
        data.major,
        data.released_at,
    )
