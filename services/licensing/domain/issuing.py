"""What an order line asks of licensing, and which licenses it issues. Pure rules, no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from dateutil.relativedelta import relativedelta
from entitle_events.commerce import Order, OrderLine
from entitle_events.common import LicenseKind

from services.policy.catalog import Catalog, Product, Sku

from .lifecycle import EXPIRING_KINDS, SUBSCRIPTION_KINDS


@dataclass(frozen=True, slots=True)
class LicenseSpec:
    license_id: str
    order_id: str
    line_id: str
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
        if sku.term_months and sku.license_kind in EXPIRING_KINDS
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
            order_id=order.order_id,
            line_id=line.line_id,
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
            auto_renew=sku.license_kind in SUBSCRIPTION_KINDS,
            max_activations=seats,
            maintenance_plan=sku.plan,
            base_license_id=base_license_id,
        )
        for n in range(count)
    ]


@dataclass(frozen=True, slots=True)
class IssuedLicense:
    spec: LicenseSpec
    key: str


@dataclass(frozen=True, slots=True)
class Ignored:
    """Another service's line (maintenance, support, incidents), or an upgrade naming no key."""


@dataclass(frozen=True, slots=True)
class Rejected:
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class Upgrade:
    """A full-price upgrade of the license the line names, to `major` (None: not sold)."""

    sku: Sku
    major: int | None


@dataclass(frozen=True, slots=True)
class Renewal:
    """A license line naming an existing subscription renews it."""

    sku: Sku


@dataclass(frozen=True, slots=True)
class Issue:
    sku: Sku
    product: Product
    major: int


@dataclass(frozen=True, slots=True)
class AddOn:
    """Issues as `issue` does once the base license the line names is found and usable."""

    issue: Issue
    base_product: str


LinePlan = Ignored | Rejected | Upgrade | Renewal | Issue | AddOn
LOOKED_UP = (Upgrade, Renewal, AddOn)
"""Plans that read an existing license, so depend on what earlier lines did to it."""


def plan_line(order: Order, line: OrderLine, catalog: Catalog, account_mode: str) -> LinePlan:
    """What `line` asks for, given the payment mode the buyer's account is locked to."""
    sku = catalog.sku(line.sku)
    if sku is None:
        return Rejected("UNKNOWN_SKU", f"SKU {line.sku} is not sold")
    if sku.kind == "upgrade" and line.license_key:
        upgraded = catalog.product(sku.product)
        return Upgrade(sku, upgraded.sold_major(line.major_version) if upgraded else None)
    if sku.kind != "license":
        return Ignored()
    if account_mode != order.payment_mode:
        return Rejected(
            "PAYMENT_MODE_LOCKED",
            f"your account pays {account_mode}; the payment mode is chosen with the"
            " first purchase only",
        )
    product = catalog.product(sku.product)
    assert product is not None  # the catalog validates its references
    major = product.sold_major(line.major_version)
    if major is None:
        return Rejected(
            "MAJOR_VERSION_NOT_SOLD",
            f"{product.name} is sold up to version {product.current_major}, not"
            f" {line.major_version}",
        )
    if product.base_product is not None:
        return AddOn(Issue(sku, product, major), product.base_product)
    if line.license_key:
        return Renewal(sku)
    return Issue(sku, product, major)
