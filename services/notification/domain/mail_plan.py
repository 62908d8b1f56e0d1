"""Which emails an event produces, to whom, with what data (DESIGN §4.5). Pure rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from entitle_events import Event
from entitle_events.licensing import LicenseIssued
from entitle_events.maintenance import CoverageStarted

from services.catalog import Catalog

INITIAL_SOURCES = {"complimentary", "included"}


@dataclass(frozen=True)
class PlannedEmail:
    template: str
    recipient: str
    transactional: bool
    data: dict[str, Any] = field(default_factory=dict)


def plan_emails(event: Event[Any], catalog: Catalog) -> list[PlannedEmail]:
    data = event.data
    if isinstance(data, LicenseIssued):
        # A license that starts with coverage is announced once coverage exists, so the
        # customer gets key and coverage end in one email.
        if data.coverage_expected:
            return []
        return [_license_delivered(data.contact_email, data, catalog, coverage_ends_at=None)]
    if isinstance(data, CoverageStarted):
        if any(p.source in INITIAL_SOURCES for p in data.periods):
            return [_license_delivered(data.contact_email, data, catalog, data.ends_at)]
        return [
            PlannedEmail(
                "coverage_started",
                data.contact_email,
                transactional=True,
                data={
                    "product": _product_name(catalog, data.product),
                    "license_key": data.license_key,
                    "ends_at": data.ends_at,
                },
            )
        ]
    return []


def _license_delivered(
    recipient: str, data: LicenseIssued | CoverageStarted, catalog: Catalog, coverage_ends_at: Any
) -> PlannedEmail:
    return PlannedEmail(
        "license_delivered",
        recipient,
        transactional=True,
        data={
            "product": _product_name(catalog, data.product),
            "license_key": data.license_key,
            "license_id": data.license_id,
            "account_id": data.account_id,
            "order_id": data.order_id,
            "coverage_ends_at": coverage_ends_at,
        },
    )


def _product_name(catalog: Catalog, code: str) -> str:
    product = catalog.product(code)
    return product.name if product else code
