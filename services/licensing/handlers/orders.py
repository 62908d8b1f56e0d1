"""Issue licenses for the license lines of a placed order."""

from __future__ import annotations

from entitle_events import Event
from entitle_events.commerce import OrderPlaced
from entitle_events.licensing import LicenseIssued, OrderLineRejected

from services.catalog import Catalog
from services.runtime.context import Context

from ..adapters import licenses
from ..domain.issuing import LicenseSpec, licenses_for_line
from ..domain.keys import KeyRing


async def on_order_placed(
    ctx: Context, event: Event[OrderPlaced], catalog: Catalog, keys: KeyRing
) -> None:
    order = event.data
    now = ctx.now()
    await licenses.upsert_account(ctx.conn, order, now)
    issued: list[tuple[LicenseSpec, str, str]] = []
    for line in order.lines:
        sku = catalog.sku(line.sku)
        if sku is None:
            if await licenses.claim_line(ctx.conn, order.order_id, line.line_id, "rejected", now):
                _reject(
                    ctx, order, line.line_id, line.sku, "UNKNOWN_SKU", f"SKU {line.sku} is not sold"
                )
            continue
        if sku.kind != "license":
            continue  # maintenance, support and incident lines belong to other services
        product = catalog.product(sku.product)
        assert product is not None  # the catalog validates its references
        if not await licenses.claim_line(ctx.conn, order.order_id, line.line_id, "issued", now):
            continue
        for spec in licenses_for_line(order, line, sku, product):
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
                coverage_expected=_covered(catalog, spec.maintenance_plan),
                licenses_in_order=len(issued),
            ),
            subject=spec.license_id,
        )


def _reject(
    ctx: Context, order: OrderPlaced, line_id: str, sku: str, code: str, reason: str
) -> None:
    ctx.emit(
        OrderLineRejected(
            order_id=order.order_id,
            line_id=line_id,
            sku=sku,
            account_id=order.buyer.account_id,
            contact_email=order.buyer.email,
            code=code,
            reason=reason,
        ),
        subject=f"{order.order_id}/{line_id}",
    )


def _covered(catalog: Catalog, plan_code: str | None) -> bool:
    plan = catalog.plan(plan_code) if plan_code else None
    return plan is not None and plan.covers_new_license
