"""Coverage from licensing's events: start it for a new license, follow status and owner."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

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

from services.policy.catalog import Catalog, MaintenancePlan
from services.policy.coverage import Period, coverage_end, initial_periods
from services.runtime.context import Context
from services.runtime.errors import PermanentError

from ..adapters import coverage, releases
from ..adapters.coverage import NewPeriod
from ..domain.records import Coverage


@dataclass(frozen=True, slots=True)
class _Issued:
    """A new license with the cover its plan starts it with."""

    event: Event[LicenseIssued]
    license: Coverage
    plan: MaintenancePlan | None
    periods: list[Period]


async def on_licenses_issued(
    ctx: Context, events: Sequence[Event[LicenseIssued]], catalog: Catalog
) -> None:
    """Start the coverage of new licenses: their rows and initial periods in one statement
    each, whatever the number of events; CoverageStarted for each license that has cover.
    A license already known (a redelivery under another event id) changes nothing."""
    issued: list[_Issued] = []
    for event in events:
        lic = event.data
        plan = catalog.plan(lic.maintenance_plan) if lic.maintenance_plan else None
        if lic.maintenance_plan and plan is None:
            raise PermanentError(
                "UNKNOWN_PLAN", f"maintenance plan {lic.maintenance_plan} is unknown"
            )
        periods = initial_periods(plan, lic.purchased_at, lic.major_version) if plan else []
        issued.append(
            _Issued(event, _new_coverage(lic, plan).with_cover(periods, plan), plan, periods)
        )
    inserted = await coverage.insert_licenses(ctx.conn, [i.license for i in issued], ctx.now())
    started: list[_Issued] = []
    for new in issued:
        if new.license.license_id in inserted:
            inserted.discard(new.license.license_id)  # a second event for it in the list: known
            if new.plan is not None and (new.periods or new.license.perpetual):
                started.append(new)
    await coverage.add_periods(
        ctx.conn,
        [
            NewPeriod(new.license.license_id, p, new.event.data.order_id, new.event.data.line_id)
            for new in started
            for p in new.periods
        ],
    )
    for new in started:
        assert new.plan is not None
        lic = new.event.data
        ctx.emit(
            CoverageStarted(
                license_id=lic.license_id,
                license_key=lic.license_key,
                product=lic.product,
                account_id=lic.account_id,
                contact_email=lic.contact_email,
                plan=new.plan.code,
                order_id=lic.order_id,
                periods=[
                    CoveragePeriod(starts_at=p.starts_at, ends_at=p.ends_at, source=p.source)
                    for p in new.periods
                ],
                ends_at=None if new.license.perpetual else coverage_end(new.periods),
            ),
            subject=lic.license_id,
            cause=new.event,
        )


def _new_coverage(lic: LicenseIssued, plan: MaintenancePlan | None) -> Coverage:
    return Coverage(
        license_id=uuid.UUID(lic.license_id),
        license_key=lic.license_key,
        product=lic.product,
        edition=lic.edition,
        account_id=lic.account_id,
        contact_email=lic.contact_email,
        plan=lic.maintenance_plan,
        purchased_at=lic.purchased_at,
        major_version=lic.major_version,
        perpetual=bool(plan and plan.perpetual_while_active),
        status="active",
        ends_at=None,
        notice_at=None,
        base_license_id=uuid.UUID(lic.base_license_id) if lic.base_license_id else None,
        reseller_account_id=lic.reseller_account_id,
    )


async def on_license_revoked(ctx: Context, event: Event[LicenseRevoked]) -> None:
    """Coverage ends for good; CoverageEnded is emitted once (a redelivery changes nothing)."""
    data = event.data
    license = await coverage.set_status(
        ctx.conn, data.license_id, "revoked", data.at, only_from=("active", "suspended", "expired")
    )
    if license is None:
        return
    ctx.emit(
        CoverageEnded(**license.ref, ended_at=data.at, reason=data.reason or "revoked"),
        subject=data.license_id,
    )


async def on_license_expired(ctx: Context, event: Event[LicenseExpired]) -> None:
    data = event.data
    await coverage.set_status(
        ctx.conn, data.license_id, "expired", data.expired_at, only_from=("active", "suspended")
    )


async def on_license_renewed(ctx: Context, event: Event[LicenseRenewed]) -> None:
    """A renewed subscription is active again, also after it had expired."""
    data = event.data
    await coverage.set_status(
        ctx.conn, data.license_id, "active", data.renewed_at, only_from=("expired",)
    )


async def on_license_deactivated(ctx: Context, event: Event[LicenseDeactivated]) -> None:
    """Only the deactivation of the whole license (no fingerprint) ends its coverage."""
    data = event.data
    if data.fingerprint is not None:
        return
    await coverage.set_status(
        ctx.conn,
        data.license_id,
        "deactivated",
        data.deactivated_at,
        only_from=("active", "suspended"),
    )


async def on_license_suspended(ctx: Context, event: Event[LicenseSuspended]) -> None:
    await coverage.set_status(
        ctx.conn, event.data.license_id, "suspended", event.data.at, only_from=("active",)
    )


async def on_license_reinstated(ctx: Context, event: Event[LicenseReinstated]) -> None:
    await coverage.set_status(
        ctx.conn, event.data.license_id, "active", event.data.at, only_from=("suspended",)
    )


async def on_license_owner(
    ctx: Context, event: Event[LicenseTransferred] | Event[LicenseAssigned]
) -> None:
    """A transfer or an assignment moves the license (and its notices) to a new owner."""
    data = event.data
    await coverage.set_owner(ctx.conn, data.license_id, data.account_id, data.contact_email)


async def on_release_published(ctx: Context, event: Event[ReleasePublished]) -> bool:
    """Record the release; True when it was new. A new major ("update") is queued for the
    `release.fanout` job, which tells every license of the product about it."""
    r = event.data
    inserted = await releases.insert(ctx.conn, r)
    if inserted and r.release_kind == "update":
        await releases.queue_fanout(ctx.conn, r.product, r.version, ctx.now())
    return inserted
