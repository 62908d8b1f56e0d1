"""Apply the shop's orders: issue licenses for license lines, renew subscriptions, revoke
refunded licenses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dateutil.relativedelta import relativedelta
from entitle_events import Event
from entitle_events.commerce import OrderLine, OrderPlaced, OrderRefunded
from entitle_events.licensing import LicenseIssued, LicenseRenewed, OrderLineRejected

from services.policy.catalog import Catalog, Sku
from services.runtime.context import Context

from ..adapters import licenses
from ..domain import lifecycle
from ..domain.issuing import (
    LOOKED_UP,
    AddOn,
    Ignored,
    Issue,
    IssuedLicense,
    LinePlan,
    Rejected,
    Renewal,
    Upgrade,
    licenses_for_line,
    plan_line,
)
from ..domain.keys import KeyRing
from ..domain.records import LineClaim, LineOutcome
from .commands import emit_revoked, ref

Planned = tuple[Event[OrderPlaced], list[tuple[OrderLine, LinePlan]]]


async def on_orders_placed(
    ctx: Context, events: Sequence[Event[Any]], catalog: Catalog, keys: KeyRing
) -> None:
    """Apply orders in their order, with the same effects and events as one by one.

    Orders whose lines the catalog alone decides are applied together: one statement for
    their accounts, one for their line claims, one for their licenses. An order with a line
    that reads an existing license (a renewal, an upgrade, an add-on's base) is applied on
    its own, line by line after the orders before it, since it must see what they did (a
    license they issued, renewed or upgraded); such lines are rare.
    """
    modes = await licenses.upsert_accounts(ctx.conn, [e.data for e in events], ctx.now())
    together: list[Planned] = []
    for event in events:
        order: OrderPlaced = event.data
        mode = modes[order.buyer.account_id]
        planned = (event, [(line, plan_line(order, line, catalog, mode)) for line in order.lines])
        if any(isinstance(plan, LOOKED_UP) for _, plan in planned[1]):
            await _apply_together(ctx, together, catalog, keys)
            together = []
            await _apply_line_by_line(ctx, planned, catalog, keys)
        else:
            together.append(planned)
    await _apply_together(ctx, together, catalog, keys)


async def _apply_together(
    ctx: Context, orders: list[Planned], catalog: Catalog, keys: KeyRing
) -> None:
    """Orders of issues and rejections only, with a constant number of statements."""
    decided = [
        (event.data.order_id, line.line_id, plan)
        for event, lines in orders
        for line, plan in lines
        if isinstance(plan, Rejected | Issue)
    ]
    won = iter(await _claim(ctx, [LineClaim(o, line, _outcome(p)) for o, line, p in decided]))
    everything: list[IssuedLicense] = []
    for event, lines in orders:
        issued: list[IssuedLicense] = []
        for line, plan in lines:
            if not isinstance(plan, Rejected | Issue) or not next(won):
                continue
            if isinstance(plan, Rejected):
                _reject(ctx, event, line, plan.code, plan.reason)
            else:
                issued += _issue(event.data, line, plan, None, keys)
        _emit_issued(ctx, event, issued, catalog)
        everything += issued
    await licenses.insert_licenses(ctx.conn, everything, ctx.now())


async def _apply_line_by_line(
    ctx: Context, planned: Planned, catalog: Catalog, keys: KeyRing
) -> None:
    event, lines = planned
    order = event.data
    issued: list[IssuedLicense] = []
    for line, plan in lines:
        base_license_id = None
        if isinstance(plan, AddOn):
            base_license_id = await _base_license(ctx, event, line, plan.base_product)
            if base_license_id is None:
                continue
            plan = plan.issue
        if isinstance(plan, Ignored | AddOn):
            continue
        (won,) = await _claim(ctx, [LineClaim(order.order_id, line.line_id, _outcome(plan))])
        if not won:
            continue
        if isinstance(plan, Rejected):
            _reject(ctx, event, line, plan.code, plan.reason)
        elif isinstance(plan, Upgrade):
            await _upgrade(ctx, line, plan)
        elif isinstance(plan, Renewal):
            await _renew(ctx, event, line, plan.sku)
        else:
            of_line = _issue(order, line, plan, base_license_id, keys)
            await licenses.insert_licenses(ctx.conn, of_line, ctx.now())
            issued += of_line
    _emit_issued(ctx, event, issued, catalog)


def _outcome(plan: Rejected | Issue | Upgrade | Renewal) -> LineOutcome:
    if isinstance(plan, Rejected):
        return "rejected"
    if isinstance(plan, Upgrade):
        return "upgraded"
    if isinstance(plan, Renewal):
        return "renewed"
    return "issued"


async def _claim(ctx: Context, claims: list[LineClaim]) -> list[bool]:
    """Whether each claim is its line's first: not handled before, nor earlier in the list
    (an order delivered twice)."""
    first: list[bool] = []
    seen: set[tuple[str, str]] = set()
    for claim in claims:
        first.append((claim.order_id, claim.line_id) not in seen)
        seen.add((claim.order_id, claim.line_id))
    fresh = [claim for claim, is_first in zip(claims, first, strict=True) if is_first]
    claimed = await licenses.claim_lines(ctx.conn, fresh, ctx.now())
    return [
        is_first and (claim.order_id, claim.line_id) in claimed
        for claim, is_first in zip(claims, first, strict=True)
    ]


def _issue(
    order: OrderPlaced, line: OrderLine, plan: Issue, base_license_id: str | None, keys: KeyRing
) -> list[IssuedLicense]:
    specs = licenses_for_line(order, line, plan.sku, plan.product, base_license_id, plan.major)
    return [
        IssuedLicense(
            spec, keys.issue(spec.license_id, spec.product, spec.edition, spec.purchased_at)
        )
        for spec in specs
    ]


def _emit_issued(
    ctx: Context, event: Event[OrderPlaced], issued: list[IssuedLicense], catalog: Catalog
) -> None:
    order = event.data
    for license in issued:
        spec = license.spec
        ctx.emit(
            LicenseIssued(
                license_id=spec.license_id,
                license_key=license.key,
                product=spec.product,
                account_id=spec.account_id,
                kind=spec.kind,
                edition=spec.edition,
                sku=spec.sku,
                company=spec.company,
                contact_email=spec.contact_email,
                reseller_account_id=spec.reseller_account_id,
                reseller_email=spec.reseller_email,
                pooled=spec.pooled,
                order_id=order.order_id,
                line_id=spec.line_id,
                purchased_at=spec.purchased_at,
                major_version=spec.major_version,
                expires_at=spec.expires_at,
                auto_renew=spec.auto_renew,
                max_activations=spec.max_activations,
                payment_mode=order.payment_mode,
                maintenance_plan=spec.maintenance_plan,
                base_license_id=spec.base_license_id,
                coverage_expected=_covered(catalog, spec.maintenance_plan, spec.major_version),
                licenses_in_order=len(issued),
            ),
            subject=spec.license_id,
            cause=event,
        )


async def _base_license(
    ctx: Context, event: Event[OrderPlaced], line: OrderLine, base_product: str
) -> str | None:
    """An add-on line names the license it extends; None (and a rejection) when it can't."""
    order = event.data
    base = await licenses.license_by_key(ctx.conn, line.license_key) if line.license_key else None
    owner = (order.end_customer or order.buyer).account_id
    problem = None
    if base is None or base.product != base_product:
        problem = f"an add-on needs the key of a {base_product} license in license_key"
    elif base.status != lifecycle.ACTIVE:
        problem = f"the base license is {base.status}"
    elif owner != base.account_id and order.buyer.account_id not in (
        base.account_id,
        base.reseller_account_id,
    ):
        problem = "the base license belongs to another account"
    if problem is None:
        assert base is not None
        return str(base.license_id)
    (won,) = await _claim(ctx, [LineClaim(order.order_id, line.line_id, "rejected")])
    if won:
        _reject(ctx, event, line, "BASE_LICENSE_REQUIRED", problem)
    return None


async def _renew(ctx: Context, event: Event[OrderPlaced], line: OrderLine, sku: Sku) -> None:
    """A license line naming an existing subscription renews it by the SKU's term."""
    assert line.license_key is not None
    license = await licenses.lock_by_key(ctx.conn, line.license_key)
    if license is None or license.product != sku.product:
        _reject(ctx, event, line, "LICENSE_NOT_FOUND", "the license to renew does not exist")
        return
    if license.expires_at is None or not sku.term_months:
        _reject(ctx, event, line, "NOT_RENEWABLE", "this license does not expire")
        return
    if license.status not in lifecycle.RENEWABLE:
        _reject(ctx, event, line, "NOT_RENEWABLE", f"the license is {license.status}")
        return
    start = max(license.expires_at, event.data.placed_at)
    expires_at = start + relativedelta(months=sku.term_months * line.quantity)
    await licenses.set_expiry(ctx.conn, license.license_id, expires_at, lifecycle.ACTIVE)
    ctx.emit(
        LicenseRenewed(**ref(license), expires_at=expires_at, renewed_at=ctx.now()),
        subject=str(license.license_id),
        cause=event,
    )


async def _upgrade(ctx: Context, line: OrderLine, plan: Upgrade) -> None:
    """A full-price upgrade moves the license to the major it buys; maintenance applies the
    same line to coverage (`Product.sold_major` decides for both)."""
    assert line.license_key is not None
    license = await licenses.lock_by_key(ctx.conn, line.license_key)
    if plan.major is None or license is None or license.product != plan.sku.product:
        return
    if plan.major > license.major_version:
        await licenses.set_major(ctx.conn, license.license_id, plan.major)


async def on_order_refunded(ctx: Context, event: Event[OrderRefunded]) -> None:
    refund = event.data
    revoked = [
        license
        for license in await licenses.by_order(ctx.conn, refund.order_id)
        if (refund.line_ids is None or license.line_id in refund.line_ids)
        and license.status != lifecycle.REVOKED
    ]
    if revoked:
        await licenses.set_status(
            ctx.conn, [license.license_id for license in revoked], lifecycle.REVOKED
        )
    for license in revoked:
        emit_revoked(ctx, license, refund.reason or "order refunded")


def _reject(
    ctx: Context, event: Event[OrderPlaced], line: OrderLine, code: str, reason: str
) -> None:
    order = event.data
    ctx.emit(
        OrderLineRejected(
            order_id=order.order_id,
            line_id=line.line_id,
            sku=line.sku,
            account_id=order.buyer.account_id,
            contact_email=order.buyer.email,
            code=code,
            reason=reason,
        ),
        subject=f"{order.order_id}/{line.line_id}",
        cause=event,
    )


def _covered(catalog: Catalog, plan_code: str | None, major_version: int) -> bool:
    plan = catalog.plan(plan_code) if plan_code else None
    return plan is not None and plan.covers_new_license(major_version)
