"""Catalog look-ups shared by handlers, jobs and HTTP: a license's plan and renewal offer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.policy.catalog import Catalog, MaintenancePlan, Sku
from services.policy.coverage import Period
from services.policy.renewal import RenewalQuote, quote_sku

from ..domain.records import Coverage


def plan_of(catalog: Catalog, license: Coverage) -> MaintenancePlan | None:
    return catalog.plan(license.plan) if license.plan else None


def renewal_sku(catalog: Catalog, plan_code: str | None) -> Sku | None:
    """The maintenance SKU that renews `plan_code` (the first one the catalog lists)."""
    if plan_code is None:
        return None
    return next((s for s in catalog.skus if s.kind == "maintenance" and s.plan == plan_code), None)


def quote(
    catalog: Catalog,
    license: Coverage,
    periods: Sequence[Period],
    sku: Sku,
    now: datetime,
    currency: str | None = None,
) -> RenewalQuote:
    """Renewing `license` with the maintenance `sku` at `now` (`quote_sku`)."""
    return quote_sku(catalog, license.plan, license.facts, periods, sku, now, currency)
