"""Orders from the shop: renewals, maintenance codes and full-price upgrades.

Each line is handled once per (order_id, line_id), whatever the number of deliveries.
"""

from __future__ import annotations

import secrets
from typing import Any, Final

from entitle_events import Event
from entitle_events.commerce import OrderLine, OrderPlaced, OrderRefunded
from entitle_events.common import CoveragePeriod
from entitle_events.maintenance import (
    CoverageExtended,
    CoverageWithdrawn,
    MaintenanceCodesIssued,
    RenewalRejected,
)

from services.policy.catalog import Catalog, Sku
from services.policy.coverage import Period, coverage_end, upgrade_period
from services.runtime.context import Context

from ..adapters import coverage
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


async def on_order_placed(ctx: Context, event: Event[OrderPlaced], catalog: Catalog) -> None:
    order = event.data
    for line in order.lines:
        sku = catalog.sku(line.sku)
        if sku is None or sku.kind not in ("maintenance", "upgrade"):
            continue
        claimed = await ctx.conn.fetchval(
            "insert into handled_order_lines (order_id, line_id, handled_at, outcome)"
            " values ($1, $2, $3, 'pending') on conflict do nothing returning true",
            order.order_id,
            line.line_id,
            ctx.now(),
        )
        if not claimed:
            continue
        if sku.kind == "maintenance" and line.license_key is None:
            outcome = await _sell_codes(ctx, order, line, sku)
        elif line.license_key is None:
            outcome = "ignored"  # an upgrade line names the license it upgrades
        elif sku.kind == "maintenance":
            outcome = await _renew(ctx, order, line, sku, catalog)
        else:
            outcome = await _upgrade(ctx, order, line, sku, catalog)
        await ctx.conn.execute(
            "update handled_order_lines set outcome = $3 where order_id = $1 and line_id = $2",
            order.order_id,
            line.line_id,
            outcome,
        )


def _reject(ctx: Context, order: OrderPlaced, line: OrderLine, code: str, reason: str) -> str:
    ctx.emit(
        RenewalRejected(
            order_id=order.order_id,
            line_id=line.line_id,
            sku=line.sku,
            license_key=line.license_key,
            account_id=order.buyer.account_id,
            contact_email=order.buyer.email,
            code=code,
            reason=reason,
        ),
        subject=order.order_id,
    )
    return f"rejected:{code}"


async def _extend(
    ctx: Context,
    row: dict[str, Any],
    periods: list[Period],
    period: Period,
    plan_code: str,
    order: OrderPlaced,
    line: OrderLine,
    catalog: Catalog,
) -> None:
    await coverage.add_periods(ctx.conn, row["license_id"], [period], order.order_id, line.line_id)
    await coverage.refresh_end(ctx.conn, row["license_id"], catalog.plan(plan_code))
    periods.append(period)
    ctx.emit(
        CoverageExtended(
            **coverage.ref(row),
            plan=plan_code,
            order_id=order.order_id,
            period=CoveragePeriod(
                starts_at=period.starts_at, ends_at=period.ends_at, source=period.source
            ),
            ends_at=coverage_end(periods),
        ),
        subject=str(row["license_id"]),
    )


async def _renew(
    ctx: Context, order: OrderPlaced, line: OrderLine, sku: Sku, catalog: Catalog
) -> str:
    assert line.license_key is not None
    found = await coverage.lock_by_key(ctx.conn, line.license_key)
    if found is None:
        return _reject(ctx, order, line, "LICENSE_NOT_FOUND", "No license with this key is known.")
    row, periods = found
    for _ in range(line.quantity):  # each unit buys one more term, the first at its price
        q = quote(catalog, row, periods, sku, order.placed_at, order.currency)
        if not q.allowed or q.period is None:
            return _reject(ctx, order, line, q.code, q.reason)
        if row["plan"] is None:  # sold without a plan: the SKU's plan maintains it from now
            await coverage.set_plan(ctx.conn, row["license_id"], sku.plan)
            row["plan"] = sku.plan
        await _extend(ctx, row, periods, q.period, row["plan"], order, line, catalog)
    return "renewed"


async def _upgrade(
    ctx: Context, order: OrderPlaced, line: OrderLine, sku: Sku, catalog: Catalog
) -> str:
    """A full-price major upgrade: the license moves to the major the line names (the
    product's current one by default; licensing applies the same line the same way) and
    gets the cover the plan includes with an upgrade."""
    assert line.license_key is not None
    found = await coverage.lock_by_key(ctx.conn, line.license_key)
    if found is None:
        return "unknown-license"
    row, periods = found
    if row["product"] != sku.product:
        return "wrong-product"
    product = catalog.product(row["product"])
    major = product.sold_major(line.major_version) if product is not None else None
    if major is not None and major > row["major_version"]:
        await ctx.conn.execute(
            "update coverage set major_version = $2 where license_id = $1",
            row["license_id"],
            major,
        )
        row["major_version"] = major
    plan = plan_of(catalog, row)
    if plan is None:
        return "no-plan"
    period = upgrade_period(plan, periods, order.placed_at)
    if period is None:
        return "no-cover"
    await _extend(ctx, row, periods, period, plan.code, order, line, catalog)
    return "upgraded"


async def _sell_codes(ctx: Context, order: OrderPlaced, line: OrderLine, sku: Sku) -> str:
    """Maintenance bought without a license: one code per unit, attached later."""
    assert sku.plan is not None
    account = order.end_customer.account_id if order.end_customer else order.buyer.account_id
    codes: list[str] = []
    while len(codes) < line.quantity:
        code = new_maintenance_code()
        inserted = await ctx.conn.fetchval(
            "insert into maintenance_codes (code, sku, plan, product, edition, term_months,"
            " order_id, line_id, account_id, bought_at)"
            " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            " on conflict do nothing returning true",
            code,
            sku.code,
            sku.plan,
            sku.product,
            sku.edition,
            sku.term_months or 0,
            order.order_id,
            line.line_id,
            account,
            order.placed_at,
        )
        if inserted:
            codes.append(code)
    ctx.emit(
        MaintenanceCodesIssued(
            order_id=order.order_id,
            line_id=line.line_id,
            sku=sku.code,
            product=sku.product,
            plan=sku.plan,
            account_id=account,
            contact_email=order.buyer.email,
            codes=codes,
            term_months=sku.term_months,
        ),
        subject=f"{order.order_id}/{line.line_id}",
    )
    return f"codes:{len(codes)}"


async def on_order_refunded(ctx: Context, event: Event[OrderRefunded], catalog: Catalog) -> None:
    """A refunded renewal, maintenance code or upgrade takes its cover back.

    Its periods are deleted and `coverage.withdrawn` tells licensing, ticketing and the
    customer; its codes, used or not, can no longer be associated. Later periods keep their
    dates (they were paid for as quoted). A redelivery finds nothing left to withdraw.
    """
    refund = event.data
    await coverage.refund_codes(ctx.conn, refund.order_id, refund.line_ids, ctx.now())
    withdrawn = await coverage.withdraw_periods(ctx.conn, refund.order_id, refund.line_ids)
    for license_id, periods in withdrawn.items():
        row = await coverage.lock_by_id(ctx.conn, license_id)
        assert row is not None  # periods reference their license
        await coverage.refresh_end(ctx.conn, license_id, plan_of(catalog, row))
        remaining = await coverage.periods_of(ctx.conn, license_id)
        ctx.emit(
            CoverageWithdrawn(
                **coverage.ref(row),
                order_id=refund.order_id,
                line_ids=refund.line_ids,
                periods=[
                    CoveragePeriod(starts_at=p.starts_at, ends_at=p.ends_at, source=p.source)
                    for p in periods
                ],
                ends_at=coverage_end(remaining),
                reason=refund.reason or "order refunded",
            ),
            subject=str(license_id),
        )
