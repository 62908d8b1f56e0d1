"""Validation of the maintenance fields of the catalog model."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from services.policy.catalog import MaintenancePlan, Sku


def test_defaults() -> None:
    plan = MaintenancePlan(code="p", name="P")
    assert (plan.term_months, plan.renewal_basis, plan.renewal_window_months) == (
        12,
        "previous_end",
        None,
    )
    assert plan.lapsed_paid_renewal_allowed and plan.free_updates_within_major
    assert (plan.upgrade_grace_days, plan.upgrade_included_months, plan.notice_days) == (0, 0, 30)
    assert plan.early_renewal_discount_pct == Decimal(0)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"perpetual_while_active": True, "included_months": 12}, "no dated initial cover"),
        ({"perpetual_while_active": True, "complimentary_months": 3}, "no dated initial cover"),
        ({"early_renewal_discount_pct": "12.345"}, "at most two decimals"),
        ({"renewal_basis": "whenever"}, "renewal_basis"),
        ({"renewal_window_months": -1}, "renewal_window_months"),
        ({"upgrade_included_months": -12}, "upgrade_included_months"),
        ({"notice_days": -1}, "notice_days"),
    ],
)
def test_inconsistent_plan_is_rejected(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MaintenancePlan.model_validate({"code": "bad-plan", "name": "Bad", **fields})


def test_two_decimal_discount_is_fine() -> None:
    plan = MaintenancePlan(code="p", name="P", early_renewal_discount_pct=Decimal("12.5"))
    assert plan.early_renewal_discount_pct == Decimal("12.5")


def test_maintenance_sku_needs_a_plan() -> None:
    with pytest.raises(ValidationError, match="a maintenance SKU needs a plan"):
        Sku(code="CARE", kind="maintenance", product="p")
    sku = Sku(code="CARE", kind="maintenance", product="p", plan="care", term_months=24)
    assert sku.term_months == 24
