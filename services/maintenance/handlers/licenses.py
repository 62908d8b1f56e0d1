"""Coverage from licensing's events: start it for a new license, follow status and owner."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from entitle_events import Event
from entitle_events.common import CoveragePeriod
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
from entitle_events.maintenance import CoverageEnded, CoverageStarted

from services.policy.catalog import Catalog
from services.policy.coverage import coverage_end, initial_periods
from services.runtime.context import Context
from services.runtime.errors import PermanentError

from ..adapters import coverage


async def on_license_issued(ctx: Context, event: Event[LicenseIssued], catalog: Catalog) -> None:
    lic = event.data
    plan = catalog.plan(lic.maintenance_plan) if lic.maintenance_plan else None
    if lic.maintenance_plan and plan is None:
        raise PermanentError("UNKNOWN_PLAN", f"maintenance plan {lic.maintenance_plan} is unknown")
    perpetual = bool(plan and plan.perpetual_while_active)
    if not await coverage.insert_license(ctx.conn, lic, perpetual, ctx.now()):
        return
    if plan is None:
        return
    periods = initial_periods(plan, lic.purchased_at, lic.major_version)
    if not periods and not perpetual:
        return
    await coverage.add_periods(ctx.conn, lic.license_id, periods, lic.order_id, lic.line_id)
    await coverage.refresh_end(ctx.conn, lic.license_id, plan)
    ctx.emit(
        CoverageStarted(
            license_id=lic.license_id,
            license_key=lic.license_key,
            product=lic.product,
            account_id=lic.account_id,
            contact_email=lic.contact_email,
            plan=plan.code,
            order_id=lic.order_id,
            periods=[
                CoveragePeriod(starts_at=p.starts_at, ends_at=p.ends_at, source=p.source)
                for p in periods
            ],
            ends_at=None if perpetual else coverage_end(periods),
        ),
        subject=lic.license_id,
    )


async def _set_status(
    ctx: Context, license_id: str, status: str, at: datetime, *, only_from: tuple[str, ...]
) -> dict[str, Any] | None:
    """Move the license to `status` when it is in one of `only_from`; the row, or None."""
    row = await ctx.conn.fetchrow(
        "update coverage set status = $2, status_changed_at = $3"
        " where license_id = $1::uuid and status = any($4::text[]) returning *",
        license_id,
        status,
        at,
        list(only_from),
    )
    return None if row is None else dict(row)


async def on_license_revoked(ctx: Context, event: Event[LicenseRevoked]) -> None:
    """Coverage ends for good; CoverageEnded is emitted once (a redelivery changes nothing)."""
    data = event.data
    row = await _set_status(
        ctx, data.license_id, "revoked", data.at, only_from=("active", "suspended", "expired")
    )
    if row is None:
        return
    ctx.emit(
        CoverageEnded(**coverage.ref(row), ended_at=data.at, reason=data.reason or "revoked"),
        subject=data.license_id,
    )


async def on_license_expired(ctx: Context, event: Event[LicenseExpired]) -> None:
    data = event.data
    await _set_status(
        ctx, data.license_id, "expired", data.expired_at, only_from=("active", "suspended")
    )


async def on_license_renewed(ctx: Context, event: Event[LicenseRenewed]) -> None:
    """A renewed subscription is active again, also after it had expired."""
    data = event.data
    await _set_status(ctx, data.license_id, "active", data.renewed_at, only_from=("expired",))


async def on_license_deactivated(ctx: Context, event: Event[LicenseDeactivated]) -> None:
    """Only the deactivation of the whole license (no fingerprint) ends its coverage."""
    data = event.data
    if data.fingerprint is not None:
        return
    await _set_status(
        ctx, data.license_id, "deactivated", data.deactivated_at, only_from=("active", "suspended")
    )


async def on_license_suspended(ctx: Context, event: Event[LicenseSuspended]) -> None:
    await _set_status(ctx, event.data.license_id, "suspended", event.data.at, only_from=("active",))


async def on_license_reinstated(ctx: Context, event: Event[LicenseReinstated]) -> None:
    await _set_status(ctx, event.data.license_id, "active", event.data.at, only_from=("suspended",))


async def on_license_owner(
    ctx: Context, event: Event[LicenseTransferred] | Event[LicenseAssigned]
) -> None:
    """A transfer or an assignment moves the license (and its notices) to a new owner."""
    data = event.data
    await ctx.conn.execute(
        "update coverage set account_id = $2, contact_email = $3 where license_id = $1::uuid",
        data.license_id,
        data.account_id,
        data.contact_email,
    )


async def on_release_published(ctx: Context, event: Event[ReleasePublished]) -> bool:
    """Record the release; True when it was new. A new major ("update") is queued for the
    `release.fanout` job, which tells every license of the product about it."""
    r = event.data
    inserted = await ctx.conn.fetchval(
        "insert into releases (product, version, major, minor, patch, released_at, release_kind)"
        " values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing returning true",
        r.product,
        r.version,
        r.major,
        r.minor,
        r.patch,
        r.released_at,
        r.release_kind,
    )
    if inserted and r.release_kind == "update":
        await ctx.conn.execute(
            "insert into release_fanouts (product, version, created_at) values ($1, $2, $3)"
            " on conflict do nothing",
            r.product,
            r.version,
            ctx.now(),
        )
    return bool(inserted)
