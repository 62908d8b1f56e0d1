"""The entitlement projection: licenses, coverage, incident credits, support
plans, partners and releases, kept from the other services' events.

License and coverage events are applied a list at a time: the licenses they name are loaded
in one statement, each event is applied in order to its license in memory, and what changed
is written back in one statement, so a later event about a license sees the effect of an
earlier one exactly as one by one, whatever the list's length. A redelivered event changes
nothing (the runtime's inbox already drops exact duplicates; the rest are upserts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace
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

from ..adapters import projection as store
from ..domain import records

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
_STATUS_OF: dict[type[Any], str] = {
    LicenseRevoked: "revoked",
    LicenseExpired: "expired",
    LicenseSuspended: "suspended",
    LicenseReinstated: "active",
    LicenseDeactivated: "deactivated",
}


_ISSUED_FIELDS = {f.name for f in fields(records.ProjectedLicense)} - {"status", "updated_at"}


def _issued(data: LicenseIssued, now: datetime) -> records.ProjectedLicense:
    return records.ProjectedLicense(
        **data.model_dump(include=_ISSUED_FIELDS), status="active", updated_at=now
    )


def license_after(
    found: records.ProjectedLicense | None, data: Any, now: datetime
) -> records.ProjectedLicense | None:
    """The projected license once `data` (a license event) is applied; an event about a
    license not projected yet changes nothing but its issue."""
    if isinstance(data, LicenseIssued):
        if found is None:
            return _issued(data, now)
        if found.license_key is None:  # projected before keys were: fill them in
            return replace(found, license_key=data.license_key, edition=data.edition)
        return found
    if found is None:
        return None
    if isinstance(data, LicenseRenewed):
        status = "active" if found.status == "expired" else found.status
        return replace(found, expires_at=data.expires_at, status=status, updated_at=now)
    if isinstance(data, LicenseDeactivated) and data.fingerprint is not None:
        return found  # one machine, not the whole license
    if type(data) in _STATUS_OF:
        return replace(found, status=_STATUS_OF[type(data)], updated_at=now)
    if isinstance(data, LicenseAssigned | LicenseTransferred):
        return replace(found, account_id=data.account_id, updated_at=now)
    return found


async def on_license_events(ctx: Context, events: Sequence[Event[Any]]) -> None:
    now = ctx.now()
    loaded = await store.licenses(ctx.conn, {e.data.license_id for e in events})
    current: dict[str, records.ProjectedLicense | None] = dict(loaded)
    moved_cover: dict[str, str] = {}
    for event in events:  # in order: an event sees what the earlier ones did to its license
        data = event.data
        current[data.license_id] = license_after(current.get(data.license_id), data, now)
        if isinstance(data, LicenseAssigned | LicenseTransferred):
            moved_cover[data.license_id] = data.account_id  # the cover follows the license
    changed = [x for key, x in current.items() if x is not None and x != loaded.get(key)]
    await store.store_licenses(ctx.conn, changed)
    await store.move_coverage(ctx.conn, moved_cover, now)


def coverage_after(
    found: records.ProjectedCoverage | None, data: Any, now: datetime
) -> records.ProjectedCoverage | None:
    """The projected cover once `data` (a coverage event) is applied."""
    if isinstance(data, CoverageStarted | CoverageExtended):
        ends = data.ends_at
        if found is not None and found.ends_at is not None and ends is not None:
            ends = max(found.ends_at, ends)  # a later event never shortens the cover
        return records.ProjectedCoverage(
            license_id=data.license_id,
            account_id=data.account_id,
            product=found.product if found else data.product,
            covered=True,
            ends_at=ends,
            perpetual=data.ends_at is None,
            updated_at=now,
            plan=data.plan,
        )
    if isinstance(data, CoverageWithdrawn):
        # A refund took cover back: what remains ends at `ends_at` (none left: not covered).
        if found is None:
            return None
        return replace(
            found, ends_at=data.ends_at, covered=data.ends_at is not None, updated_at=now
        )
    if isinstance(data, CoverageLapsed | CoverageEnded):
        if found is None:
            return records.ProjectedCoverage(
                data.license_id,
                data.account_id,
                data.product,
                False,
                data.ended_at,
                False,
                now,
                None,
            )
        return replace(found, covered=False, perpetual=False, ends_at=data.ended_at, updated_at=now)
    return found


async def on_coverage_events(ctx: Context, events: Sequence[Event[Any]]) -> None:
    now = ctx.now()
    loaded = await store.coverage(ctx.conn, {e.data.license_id for e in events})
    current: dict[str, records.ProjectedCoverage | None] = dict(loaded)
    for event in events:
        data = event.data
        current[data.license_id] = coverage_after(current.get(data.license_id), data, now)
    changed = [x for key, x in current.items() if x is not None and x != loaded.get(key)]
    await store.store_coverage(ctx.conn, changed)


async def on_order_placed(
    ctx: Context, event: Event[Any], catalog: Catalog, plan_months: int = 12
) -> None:
    """Incident packs grant credits; support plans grant a plan; reseller buyers are partners."""
    data = event.data
    assert isinstance(data, OrderPlaced)
    account = (data.end_customer or data.buyer).account_id
    credits: list[records.CreditGrant] = []
    plans: list[records.PlanGrant] = []
    for line in data.lines:
        sku = catalog.sku(line.sku)
        if sku is None:
            continue
        granted = (data.order_id, line.line_id, account, sku.product)
        if sku.kind == "incident_pack" and sku.incidents > 0:
            credits.append(
                records.CreditGrant(*granted, sku.incidents * line.quantity, data.placed_at)
            )
        elif sku.kind == "support_plan":
            months = (sku.term_months or plan_months) * line.quantity
            plans.append(
                records.PlanGrant(*granted, data.placed_at, add_months(data.placed_at, months))
            )
    if data.buyer.reseller:
        await store.add_partners(ctx.conn, [records.Partner(data.buyer.account_id, data.placed_at)])
    await store.grant_credits(ctx.conn, credits)
    await store.grant_plans(ctx.conn, plans)


async def on_order_refunded(ctx: Context, event: Event[Any]) -> None:
    """A refunded incident pack or support plan no longer entitles: its credits and plan are
    withdrawn (credits already used on tickets stay used; what is left cannot go below none)."""
    data = event.data
    assert isinstance(data, OrderRefunded)
    await store.withdraw_order(ctx.conn, data.order_id, data.line_ids)


async def on_releases_published(ctx: Context, events: Sequence[Event[Any]]) -> None:
    releases = []
    for event in events:
        data = event.data
        assert isinstance(data, ReleasePublished)
        releases.append(
            records.ProjectedRelease(data.product, data.version, data.major, data.released_at)
        )
    await store.add_releases(ctx.conn, releases)
