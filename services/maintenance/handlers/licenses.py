"""Start coverage for a newly issued license from its plan."""

from __future__ import annotations

from entitle_events import Event
from entitle_events.common import CoveragePeriod
from entitle_events.licensing import LicenseIssued
from entitle_events.maintenance import CoverageStarted

from services.catalog import Catalog
from services.runtime.context import Context
from services.runtime.errors import PermanentError

from ..adapters import coverage
from ..domain.coverage import coverage_end, initial_periods


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
    periods = initial_periods(plan, lic.purchased_at)
    if not periods and not perpetual:
        return
    await coverage.add_periods(ctx.conn, lic.license_id, periods, lic.order_id, lic.line_id)
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
