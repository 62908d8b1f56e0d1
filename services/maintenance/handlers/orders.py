"""Orders from the shop: renewals, maintenance codes and full-price upgrades.

Each line is handled once per (order_id, line_id), whatever the number of deliveries.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from entitle_events import Event
from entitle_events.commerce import OrderLine, OrderPlaced, OrderRefunded
from entitle_events.common import CoveragePeriod
from entitle_events.maintenance import (
    CoverageWithdrawn,
    MaintenanceCodesIssued,
    RenewalRejected,
)

from services.policy.catalog import Catalog, Sku
from services.policy.coverage import Period, coverage_end, upgrade_period
from services.runtime.context import Context

from ..adapters import codes, coverage, orders
from ..adapters.coverage import NewPeriod
from ..adapters.orders import LineRef
from ..domain.records import Coverage, MaintenanceCode
from .offers import plan_of, quote

# No 0/O, 1/I/L, 5/S, 2/Z, 8/B: codes are read aloud and typed by hand.
CODE_ALPHABET: Final = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_GROUPS: Final = 4
CODE_GROUP_LEN: Final = 4


def new_maintenance_code() -> str:
    """`MC-XXXX-XXXX-XXXX-XXXX`: 80 random bits in an unambiguous alphabet."""
    groups = (
        "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUP_LEN))
        for _ in range(CODE_GROUPS)
    )
    return "MC-" + "-".join(groups)


@dataclass(frozen=True, slots=True)
class _Line:
    """An order line maintenance acts on: a maintenance or upgrade SKU."""

    event: Event[OrderPlaced]
    line: OrderLine
    sku: Sku

    @property
    def order(self) -> OrderPlaced:
        return self.event.data

    @property
    def ref(self) -> LineRef:
        return (self.order.order_id, self.line.line_id)


@dataclass
class _Licenses:
    """The licenses the lines of a list of orders name, as the lines so far left them: a
    later line sees what an earlier one did (two renewals of one license stack), and the
    changes are stored together at the end."""

    by_key: dict[str, Coverage]
    periods: dict[uuid.UUID, list[Period]]
    new_periods: list[NewPeriod] = field(default_factory=list)
    changed: dict[uuid.UUID, Coverage] = field(default_factory=dict)

    def periods_of(self, license: Coverage) -> list[Period]:
        return self.periods.setdefault(license.license_id, [])

    def update(self, license: Coverage) -> Coverage:
        self.by_key[license.license_key] = license
        self.changed[license.license_id] = license
        return license


async def on_orders_placed(
    ctx: Context, events: Sequence[Event[OrderPlaced]], catalog: Catalog
) -> None:
    """Apply the maintenance and upgrade lines of orders, with a constant number of
    statements for the whole list: one claim of all lines, one load of the licenses they
    name, then each line in order on those loaded licenses, and one write per table."""
    wanted = [
        _Line(event, line, sku)
        for event in events
        for line in event.data.lines
        if (sku := catalog.sku(line.sku)) is not None and sku.kind in ("maintenance", "upgrade")
    ]
    claimed = await orders.claim(ctx.conn, [line.ref for line in wanted], ctx.now())
    lines: list[_Line] = []
    for line in wanted:
        if line.ref in claimed:  # not handled before, nor earlier in this list
            claimed.discard(line.ref)
            lines.append(line)
    sold = await _sell_codes(
        ctx, [x for x in lines if x.sku.kind == "maintenance" and x.line.license_key is None]
    )
    licenses = await coverage.lock_by_keys(
        ctx.conn, {x.line.license_key for x in lines if x.line.license_key is not None}
    )
    state = _Licenses(
        licenses, await coverage.periods_of(ctx.conn, [c.license_id for c in licenses.values()])
    )
    outcomes: list[tuple[LineRef, str]] = []
    for x in lines:
        if x.ref in sold:
            outcome = _codes_issued(ctx, x, sold[x.ref])
        elif x.line.license_key is None:
            outcome = "ignored"  # an upgrade line names the license it upgrades
        elif x.sku.kind == "maintenance":
            outcome = _renew(ctx, state, x, catalog)
        else:
            outcome = _upgrade(ctx, state, x, catalog)
        outcomes.append((x.ref, outcome))
    await coverage.add_periods(ctx.conn, state.new_periods)
    await coverage.save(ctx.conn, list(state.changed.values()))
    await orders.record_outcomes(ctx.conn, outcomes)


def _reject(ctx: Context, x: _Line, code: str, reason: str) -> str:
    ctx.emit(
        RenewalRejected(
            order_id=x.order.order_id,
            line_id=x.line.line_id,
            sku=x.line.sku,
            license_key=x.line.license_key,
            account_id=x.order.buyer.account_id,
            contact_email=x.order.buyer.email,
            code=code,
            reason=reason,
        ),
        subject=x.order.order_id,
        cause=x.event,
    )
    return f"rejected:{code}"


def _extend(
    ctx: Context,
    state: _Licenses,
    x: _Line,
    license: Coverage,
    period: Period,
    plan_code: str,
    catalog: Catalog,
) -> Coverage:
    periods = state.periods_of(license)
    periods.append(period)
    state.new_periods.append(
        NewPeriod(license.license_id, period, x.order.order_id, x.line.line_id)
    )
    license = state.update(license.with_cover(periods, catalog.plan(plan_code)))
    ctx.emit(
        license.extended(plan_code, x.order.order_id, period, periods),
        subject=str(license.license_id),
        cause=x.event,
    )
    return license


def _renew(ctx: Context, state: _Licenses, x: _Line, catalog: Catalog) -> str:
    assert x.line.license_key is not None
    license = state.by_key.get(x.line.license_key)
    if license is None:
        return _reject(ctx, x, "LICENSE_NOT_FOUND", "No license with this key is known.")
    for _ in range(x.line.quantity):  # each unit buys one more term, the first at its price
        q = quote(
            catalog, license, state.periods_of(license), x.sku, x.order.placed_at, x.order.currency
        )
        if not q.allowed or q.period is None:
            return _reject(ctx, x, q.code, q.reason)
        if license.plan is None:  # sold without a plan: the SKU's plan maintains it from now
            license = state.update(replace(license, plan=x.sku.plan))
        assert license.plan is not None
        license = _extend(ctx, state, x, license, q.period, license.plan, catalog)
    return "renewed"


def _upgrade(ctx: Context, state: _Licenses, x: _Line, catalog: Catalog) -> str:
    """A full-price major upgrade: the license moves to the major the line names (the
    product's current one by default; licensing applies the same line the same way) and
    gets the cover the plan includes with an upgrade."""
    assert x.line.license_key is not None
    license = state.by_key.get(x.line.license_key)
    if license is None:
        return "unknown-license"
    if license.product != x.sku.product:
        return "wrong-product"
    product = catalog.product(license.product)
    major = product.sold_major(x.line.major_version) if product is not None else None
    if major is not None and major > license.major_version:
        license = state.update(replace(license, major_version=major))
    plan = plan_of(catalog, license)
    if plan is None:
        return "no-plan"
    period = upgrade_period(plan, state.periods_of(license), x.order.placed_at)
    if period is None:
        return "no-cover"
    _extend(ctx, state, x, license, period, plan.code, catalog)
    return "upgraded"


async def _sell_codes(ctx: Context, sales: Sequence[_Line]) -> dict[LineRef, list[str]]:
    """Maintenance bought without a license: one code per unit, attached later. All are
    stored in one statement; a code that happens to be taken already is drawn again."""
    sold: dict[LineRef, list[str]] = {x.ref: [] for x in sales}
    wanted = [_code(x) for x in sales for _ in range(x.line.quantity)]
    while wanted:
        stored = await codes.insert(ctx.conn, wanted)
        again = []
        for code in wanted:
            if code.code in stored:
                stored.discard(code.code)  # drawn twice in this list: the first one has it
                sold[(code.order_id, code.line_id)].append(code.code)
            else:
                again.append(replace(code, code=new_maintenance_code()))
        wanted = again
    return sold


def _code(x: _Line) -> MaintenanceCode:
    assert x.sku.plan is not None
    order = x.order
    return MaintenanceCode(
        code=new_maintenance_code(),
        sku=x.sku.code,
        plan=x.sku.plan,
        product=x.sku.product,
        edition=x.sku.edition,
        term_months=x.sku.term_months or 0,
        order_id=order.order_id,
        line_id=x.line.line_id,
        account_id=order.end_customer.account_id if order.end_customer else order.buyer.account_id,
        bought_at=order.placed_at,
        used_by_license=None,
        refunded_at=None,
    )


def _codes_issued(ctx: Context, x: _Line, sold: list[str]) -> str:
    assert x.sku.plan is not None
    order = x.order
    ctx.emit(
        MaintenanceCodesIssued(
            order_id=order.order_id,
            line_id=x.line.line_id,
            sku=x.sku.code,
            product=x.sku.product,
            plan=x.sku.plan,
            account_id=order.end_customer.account_id
            if order.end_customer
            else order.buyer.account_id,
            contact_email=order.buyer.email,
            codes=sold,
            term_months=x.sku.term_months,
        ),
        subject=f"{order.order_id}/{x.line.line_id}",
        cause=x.event,
    )
    return f"codes:{len(sold)}"


async def on_order_refunded(ctx: Context, event: Event[OrderRefunded], catalog: Catalog) -> None:
    """A refunded renewal, maintenance code or upgrade takes its cover back.

    Its periods are deleted and `coverage.withdrawn` tells licensing, ticketing and the
    customer; its codes, used or not, can no longer be associated. Later periods keep their
    dates (they were paid for as quoted). A redelivery finds nothing left to withdraw.
    """
    refund = event.data
    await codes.refund(ctx.conn, refund.order_id, refund.line_ids, ctx.now())
    withdrawn = await coverage.withdraw_periods(ctx.conn, refund.order_id, refund.line_ids)
    licenses = await coverage.by_ids(ctx.conn, withdrawn, lock=True)
    remaining = await coverage.periods_of(ctx.conn, withdrawn)
    await coverage.save(
        ctx.conn,
        [
            license.with_cover(remaining.get(license.license_id, []), plan_of(catalog, license))
            for license in licenses.values()
        ],
    )
    for license_id, periods in withdrawn.items():
        license = licenses[license_id]  # periods reference their license
        ctx.emit(
            CoverageWithdrawn(
                **license.ref,
                order_id=refund.order_id,
                line_ids=refund.line_ids,
                periods=[
                    CoveragePeriod(starts_at=p.starts_at, ends_at=p.ends_at, source=p.source)
                    for p in periods
                ],
                ends_at=coverage_end(remaining.get(license_id, [])),
                reason=refund.reason or "order refunded",
            ),
            subject=str(license_id),
        )
