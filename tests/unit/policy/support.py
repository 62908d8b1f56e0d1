"""Helpers shared by the maintenance rule tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from services.policy.catalog import Catalog, MaintenancePlan, load_catalog
from services.policy.coverage import LicenseFacts, LicenseStatus
from services.policy.renewal import RenewalOffer

PRESETS = Path(__file__).parents[3] / "services" / "policy" / "catalog" / "presets"


def at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    """An instant in UTC, 10:00 unless told."""
    return datetime(year, month, day, hour, tzinfo=UTC)


def preset(name: str) -> Catalog:
    return load_catalog(PRESETS / f"{name}.toml")


def plan_of(catalog: Catalog, code: str) -> MaintenancePlan:
    plan = catalog.plan(code)
    assert plan is not None, code
    return plan


def sku_plan(catalog: Catalog, sku_code: str) -> MaintenancePlan:
    sku = catalog.sku(sku_code)
    assert sku is not None and sku.plan is not None, sku_code
    return plan_of(catalog, sku.plan)


def offer(catalog: Catalog, sku_code: str) -> RenewalOffer:
    sku = catalog.sku(sku_code)
    assert sku is not None and sku.plan is not None, sku_code
    return RenewalOffer.from_sku(sku, plan_of(catalog, sku.plan), catalog.currency)


def license_of(
    catalog: Catalog,
    sku_code: str,
    purchased_at: datetime,
    major: int | None = None,
    status: LicenseStatus = "active",
) -> LicenseFacts:
    """The facts of a license sold by a catalog's license SKU."""
    sku = catalog.sku(sku_code)
    assert sku is not None and sku.edition is not None and sku.license_kind is not None
    product = catalog.product(sku.product)
    assert product is not None
    return LicenseFacts(
        purchased_at=purchased_at,
        major_version=product.current_major if major is None else major,
        kind=sku.license_kind,
        product=sku.product,
        edition=sku.edition,
        status=status,
    )


def plan(**fields: object) -> MaintenancePlan:
    return MaintenancePlan.model_validate({"code": "p", "name": "Plan", **fields})


def eur(amount: str, term: int = 12) -> RenewalOffer:
    return RenewalOffer(term, Decimal(amount), "EUR", "RENEW")
