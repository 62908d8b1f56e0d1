"""Apply the shop's orders: issue licenses for license lines, renew subscriptions, revoke
refunded licenses."""

from __future__ import annotations

from dateutil.relativedelta import relativedelta
from entitle_events import Event
from entitle_events.commerce import OrderLine, OrderPlaced, OrderRefunded
from entitle_events.licensing import LicenseIssued, LicenseRenewed, OrderLineRejected

from services.policy.catalog import Catalog, Sku
from services.runtime.context import Context

from ..adapters import licenses
from ..domain.issuing import LicenseSpec, licenses_for_line
from ..domain.keys import KeyRing
from .commands import emit_status_event, ref


async def on_order_placed(
    ctx: Context, event: Event[OrderPlaced], catalog: Catalog, keys: KeyRing
) -> None:
    order = event.data
    now = ctx.now()
    account_mode = await licenses.upsert_account(ctx.conn, order, now)
    issued: list[tuple[LicenseSpec, str, str]] = []
    for line in order.lines:
        sku = catalog.sku(line.sku)
        if sku is None:
            if await licenses.claim_line(ctx.conn, order.order_id, line.line_id, "rejected", now):
                _reject(ctx, order, line, "UNKNOWN_SKU", f"SKU {line.sku} is not sold")
            continue
        if sku.kind == "upgrade" and line.license_key:
            if await licenses.claim_line(ctx.conn, order.order_id, line.line_id, "upgraded", now):
                await _upgrade(ctx, line, sku, catalog)
            continue
        if sku.kind != "license":
            continue  # maintenance, support and incident lines belong to other services
        if account_mode != order.payment_mode:
            if await licenses.claim_line(ctx.conn, order.order_id, line.line_id, "rejected", now):
                _reject(
                    ctx,
                    order,
                    line,
                    "PAYMENT_MODE_LOCKED",
                    f"your account pays {account_mode}; the payment mode is chosen with the"
                    " first purchase only",
                )
            continue
        product = catalog.product(sku.product)
        assert product is not None  # the catalog validates its references
        major = product.sold_major(line.major_version)
        if major is None:
            if await licenses.claim_line(ctx.conn, order.order_id, line.line_id, "rejected", now):
                _reject(
                    ctx,
                    order,
                    line,
                    "MAJOR_VERSION_NOT_SOLD",
                    f"{product.name} is sold up to version {product.current_major}, not"
                    f" {line.major_version}",
                )
            continue
        base_license_id = None
        if product.base_product is not None:
            base_license_id = await _base_license(ctx, order, line, product.base_product)
            if base_license_id is None:
                continue
        elif line.license_key:
            if await licenses.claim_line(ctx.conn, order.order_id, line.line_id, "renewed", now):
                await _renew(ctx, order, line, sku)
            continue
        if not await licenses.claim_line(ctx.conn, order.order_id, line.line_id, "issued", now):
            continue
        for spec in licenses_for_line(order, line, sku, product, base_license_id, major):
            key = keys.issue(spec.license_id, spec.product, spec.edition, spec.purchased_at)
            await licenses.insert_license(ctx.conn, spec, key, order.order_id, line.line_id, now)
            issued.append((spec, key, line.line_id))
    for spec, key, line_id in issued:
        ctx.emit(
            LicenseIssued(
                license_id=spec.license_id,
                license_key=key,
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
                line_id=line_id,
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
        )


async def _base_license(
    ctx: Context, order: OrderPlaced, line: OrderLine, base_product: str
) -> str | None:
    """An add-on line names the license it extends; None (and a rejection) when it can't."""
    base = await licenses.get_by_key(ctx.conn, line.license_key) if line.license_key else None
    owner = (order.end_customer or order.buyer).account_id
    problem = None
    if base is None or base["product"] != base_product:
        problem = f"an add-on needs the key of a {base_product} license in license_key"
    elif base["status"] != "active":
        problem = f"the base license is {base['status']}"
    elif owner != base["account_id"] and order.buyer.account_id not in (
        base["account_id"],
        base["reseller_account_id"],
    ):
        problem = "the base license belongs to another account"
    if problem is None:
        assert base is not None
        return str(base["license_id"])
    if await licenses.claim_line(ctx.conn, order.order_id, line.line_id, "rejected", ctx.now()):
        _reject(ctx, order, line, "BASE_LICENSE_REQUIRED", problem)
    return None


async def _renew(ctx: Context, order: OrderPlaced, line: OrderLine, sku: Sku) -> None:
    """A license line naming an existing subscription renews it by the SKU's term."""
    assert line.license_key is not None
    row = await licenses.lock_by_key(ctx.conn, line.license_key)
    if row is None or row["product"] != sku.product:
        _reject(ctx, order, line, "LICENSE_NOT_FOUND", "the license to renew does not exist")
        return
    if row["expires_at"] is None or not sku.term_months:
        _reject(ctx, order, line, "NOT_RENEWABLE", "this license does not expire")
        return
    if row["status"] not in ("active", "expired"):
        _reject(ctx, order, line, "NOT_RENEWABLE", f"the license is {row['status']}")
        return
    start = max(row["expires_at"], order.placed_at)
    expires_at = start + relativedelta(months=sku.term_months * line.quantity)
    await licenses.set_expiry(ctx.conn, row["license_id"], expires_at, "active")
    ctx.emit(
        LicenseRenewed(**ref(row), expires_at=expires_at, renewed_at=ctx.now()),
        subject=str(row["license_id"]),
    )


async def _upgrade(ctx: Context, line: OrderLine, sku: Sku, catalog: Catalog) -> None:
    """A full-price upgrade moves the license to the major it buys; maintenance applies the
    same line to coverage (`Product.sold_major` decides for both)."""
    assert line.license_key is not None
    product = catalog.product(sku.product)
    major = product.sold_major(line.major_version) if product is not None else None
    row = await licenses.lock_by_key(ctx.conn, line.license_key)
    if major is None or row is None or row["product"] != sku.product:
        return
    if major > row["major_version"]:
        await licenses.set_major(ctx.conn, row["license_id"], major)


async def on_order_refunded(ctx: Context, event: Event[OrderRefunded]) -> None:
    refund = event.data
    for row in await licenses.by_order(ctx.conn, refund.order_id):
        if refund.line_ids is not None and row["line_id"] not in refund.line_ids:
            continue
        if row["status"] == "revoked":
            continue
        await licenses.set_status(ctx.conn, row["license_id"], "revoked")
        emit_status_event(ctx, row, "revoke", refund.reason or "order refunded")


def _reject(ctx: Context, order: OrderPlaced, line: OrderLine, code: str, reason: str) -> None:
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
    )


def _covered(catalog: Catalog, plan_code: str | None, major_version: int) -> bool:
    plan = catalog.plan(plan_code) if plan_code else None
    return plan is not None and plan.covers_new_license(major_version)
