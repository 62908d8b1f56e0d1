"""License delivery per order: every license one order issues goes out in one email, once
each license's coverage (if it gets any) is known. Pure rules."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from entitle_events import Event
from entitle_events.licensing import LicenseIssued
from entitle_events.maintenance import CoverageStarted

from services.policy.catalog import Catalog

from .mail_plan import PlannedEmail

INITIAL_SOURCES = {"complimentary", "included"}


@dataclass(frozen=True)
class LicenseItem:
    """What one event tells about one license of an order's delivery email."""

    order_id: str
    license_id: str
    account_id: str
    recipient: str
    product: str
    license_key: str
    ready: bool
    coverage_ends_at: datetime | None = None
    licenses_in_order: int | None = None
    reseller_email: str | None = None
    reseller_account_id: str | None = None


def license_item(event: Event[Any]) -> LicenseItem | None:
    data = event.data
    if isinstance(data, LicenseIssued):
        return LicenseItem(
            order_id=data.order_id,
            license_id=data.license_id,
            account_id=data.account_id,
            recipient=data.contact_email,
            product=data.product,
            license_key=data.license_key,
            # A license that starts with coverage waits for it, so that key and coverage
            # end arrive together.
            ready=not data.coverage_expected,
            licenses_in_order=data.licenses_in_order,
            reseller_email=data.reseller_email,
            reseller_account_id=data.reseller_account_id,
        )
    if (
        isinstance(data, CoverageStarted)
        and data.order_id
        and any(p.source in INITIAL_SOURCES for p in data.periods)
    ):
        return LicenseItem(
            order_id=data.order_id,
            license_id=data.license_id,
            account_id=data.account_id,
            recipient=data.contact_email,
            product=data.product,
            license_key=data.license_key,
            ready=True,
            coverage_ends_at=data.ends_at,
        )
    return None


def complete(expected: int | None, ready: int) -> bool:
    """The email goes once every license the order issued is ready."""
    return expected is not None and expected > 0 and ready >= expected


def delivery_emails(
    order_id: str,
    recipient: str,
    reseller_email: str | None,
    items: list[dict[str, Any]],
    catalog: Catalog,
    *,
    account_id: str | None = None,
    reseller_account_id: str | None = None,
) -> list[PlannedEmail]:
    """The customer's email, and a copy for the reseller who bought for the customer (seed
    002: the reseller transfers licenses and associates maintenance for its customers)."""
    email = replace(delivery_email(order_id, recipient, items, catalog), account_id=account_id)
    if reseller_email is None or reseller_email.lower() == recipient.lower():
        return [email]
    copy = replace(email, recipient=reseller_email, account_id=reseller_account_id or account_id)
    return [email, copy]


def delivery_email(
    order_id: str, recipient: str, items: list[dict[str, Any]], catalog: Catalog
) -> PlannedEmail:
    licenses = [
        {
            "product": _name(catalog, item["product"]),
            "license_key": item["license_key"],
            "coverage_ends_at": item["coverage_ends_at"],
        }
        for item in items
    ]
    return PlannedEmail(
        "license_delivered",
        recipient,
        transactional=True,
        data={
            "order_id": order_id,
            "product": licenses[0]["product"],
            "licenses": licenses,
            "brand": catalog.brand_of(items[0]["product"]).model_dump(),
        },
    )


def _name(catalog: Catalog, code: str) -> str:
    product = catalog.product(code)
    return product.name if product else code
