"""Associating a separately bought maintenance code with a license (once)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from services.policy.catalog import Catalog
from services.policy.coverage import Period
from services.policy.renewal import (
    MaintenanceRefused,
    association_period,
    governing_plan,
    maintains,
)
from services.runtime.auth import Principal
from services.runtime.context import Context
from services.runtime.errors import Refused

from ..adapters import codes, coverage
from ..adapters.coverage import NewPeriod
from ..domain.records import Coverage
from .queries import license_not_found, may_see


@dataclass(frozen=True)
class Associate:
    code: str
    """As typed: case and surrounding blanks do not matter."""
    license_key: str
    principal: Principal


async def associate(
    ctx: Context, catalog: Catalog, command: Associate
) -> tuple[Coverage, list[Period]]:
    """Attach the code's period to the license; the license and its periods after."""
    code_text = command.code.strip().upper()
    found = await coverage.lock_by_key(ctx.conn, command.license_key)
    if found is None or not may_see(command.principal, found[0]):
        raise license_not_found()
    license, periods = found
    code = await codes.lock(ctx.conn, code_text)
    if code is None:
        raise Refused("CODE_NOT_FOUND", "no maintenance code like this was sold")
    if code.used_by_license is not None:
        raise Refused("CODE_ALREADY_USED", "this maintenance code is already attached to a license")
    if code.refunded_at is not None:
        raise Refused("CODE_REFUNDED", "this maintenance code was refunded")
    mismatch = maintains(code.product, code.edition, license.facts)
    if mismatch is not None:
        raise Refused(f"CODE_{mismatch[0]}", mismatch[1])
    plan = governing_plan(catalog, license.plan, code.plan)
    code_plan = catalog.plan(code.plan)
    if plan is None or code_plan is None:
        raise Refused("UNKNOWN_PLAN", f"maintenance plan {code.plan} is unknown")
    now = ctx.now()
    try:
        period = association_period(
            plan,
            periods,
            min(code.bought_at, now),
            now,
            term_months=code.term_months or code_plan.term_months,
            license=license.facts,
        )
    except MaintenanceRefused as exc:
        raise Refused(exc.code, exc.reason) from exc
    periods = [*periods, period]
    license = replace(license, plan=license.plan or plan.code).with_cover(periods, plan)
    await codes.mark_used(ctx.conn, code_text, license.license_id, now)
    await coverage.add_periods(
        ctx.conn, [NewPeriod(license.license_id, period, code.order_id, code.line_id)]
    )
    await coverage.save(ctx.conn, [license])
    ctx.emit(
        license.extended(plan.code, code.order_id, period, periods),
        subject=str(license.license_id),
    )
    return license, periods
