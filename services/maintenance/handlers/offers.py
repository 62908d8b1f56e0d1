"""Catalog look-ups shared by handlers, jobs and HTTP: a license's plan and renewal offer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from services.policy.catalog import Catalog, MaintenancePlan, Sku
from services.policy.coverage import Period
from services.policy.renewal import RenewalQuote, quote_sku

from ..adapters.coverage import facts


def plan_of(catalog: Catalog, row: Mapping[str, Any]) -> MaintenancePlan | None:
    code = row.get("plan")
    return catalog.plan(code) if code else None


def renewal_sku(catalog: Catalog, plan_code: str | None) -> Sku | None:
    """The maintenance SKU that renews `plan_code` (the first one the catalog lists)."""
    if plan_code is None:
        return None
    return next((s for s in catalog.skus if s.kind == "maintenance" and s.plan == plan_code), None)


def quote(
    catalog: Catalog,
    row: Mapping[str, Any],
    periods: Sequence[Period],
    sku: Sku,
    now: datetime,
    currency: str | None = None,
) -> RenewalQuote:
    """Renewing the license of `row` with the maintenance `sku` at `now` (`quote_sku`)."""
    return quote_sku(catalog, row.get("plan"), facts(row), periods, sku, now, currency)
