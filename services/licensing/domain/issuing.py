"""Which licenses an order line issues. Pure rules, no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from dateutil.relativedelta import relativedelta
from entitle_events.commerce import Order, OrderLine
from entitle_events.common import LicenseKind

from services.policy.catalog import Product, Sku


@dataclass(frozen=True)
class LicenseSpec:
    license_id: str
    kind: LicenseKind
    product: str
    edition: str
    sku: str
    account_id: str
    company: str
    contact_email: str
    reseller_account_id: str | None
    reseller_email: str | None
    pooled: bool
    purchased_at: datetime
    major_version: int
    expires_at: datetime | None
    auto_renew: bool
    max_activations: int | None
    maintenance_plan: str | None
    base_license_id: str | None = None


def licenses_for_line(
    order: Order,
    line: OrderLine,
    sku: Sku,
    product: Product,
    base_license_id: str | None = None,
    major_version: int | None = None,
) -> list[LicenseSpec]:
    """Quantity N gives N licenses, or one license with N times the seats, as the SKU says.

    A reseller's purchase belongs to its end customer when one is named, else to the
    reseller's pool. `major_version` defaults to the product's current major.
    """
    assert sku.kind == "license" and sku.license_kind and sku.edition
    reseller = order.buyer if order.buyer.reseller else None
    owner = order.end_customer or order.buyer
    expires_at = (
        order.placed_at + relativedelta(months=sku.term_months)
        if sku.term_months and sku.license_kind in ("subscription", "msp", "trial", "nfr")
        else None
    )
    count, seats = (
        (line.quantity, sku.seats)
        if sku.one_license_per_unit
        else (1, None if sku.seats is None else sku.seats * line.quantity)
    )
    return [
        LicenseSpec(
            license_id=str(
                uuid.uuid5(uuid.NAMESPACE_URL, f"entitle:{order.order_id}:{line.line_id}:{n}")
            ),
            kind=sku.license_kind,
            product=sku.product,
            edition=sku.edition,
            sku=sku.code,
            account_id=owner.account_id,
            company=owner.company,
            contact_email=owner.email,
            reseller_account_id=reseller.account_id if reseller else None,
            reseller_email=reseller.email if reseller else None,
            pooled=reseller is not None and order.end_customer is None,
            purchased_at=order.placed_at,
            major_version=product.current_major if major_version is None else major_version,
            expires_at=expires_at,
            auto_renew=sku.license_kind in ("subscription", "msp"),
            max_activations=seats,
            maintenance_plan=sku.plan,
            base_license_id=base_license_id,
        )
        for n in range(count)
    ]
