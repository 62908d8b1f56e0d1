"""Which status changes a license may make, and what each order line asks of licensing."""

from __future__ import annotations

import pytest

from services.licensing.domain import lifecycle
from services.licensing.domain.issuing import (
    AddOn,
    Ignored,
    Issue,
    Rejected,
    Renewal,
    plan_line,
)

from .test_licensing_issuing import CATALOG, order

STATUSES = ["active", "suspended", "expired", "revoked", "deactivated"]
# (transition, statuses it applies to)
ALLOWED = [
    (lifecycle.SUSPEND, {"active"}),
    (lifecycle.REINSTATE, {"suspended"}),
    (lifecycle.REVOKE, {"active", "suspended", "expired", "deactivated"}),
    (lifecycle.DEACTIVATE, {"active", "suspended"}),
]


@pytest.mark.parametrize(("transition", "allowed"), ALLOWED)
@pytest.mark.parametrize("status", STATUSES)
def test_a_transition_applies_to_its_statuses_only(
    transition: lifecycle.Transition, allowed: set[str], status: str
) -> None:
    refusal = lifecycle.check_transition(transition, status, "subscription")
    if status in allowed:
        assert refusal is None
    else:
        assert refusal is not None
        assert refusal.code == "ILLEGAL_TRANSITION"
        assert refusal.detail == f"a {status} license cannot be {transition.done}"


@pytest.mark.parametrize("kind", ["perpetual", "subscription", "msp", "trial", "nfr"])
def test_only_subscription_and_msp_licenses_are_deactivated(kind: str) -> None:
    refusal = lifecycle.check_transition(lifecycle.DEACTIVATE, "active", kind)
    if kind in ("subscription", "msp"):
        assert refusal is None
    else:
        assert refusal is not None and refusal.code == "NOT_DEACTIVATABLE"
    assert lifecycle.check_transition(lifecycle.SUSPEND, "active", kind) is None


def planned(sku: str, mode: str = "annual", **line: object) -> object:
    """The plan of a one-line order of `sku` (`line`: more of the line's fields), when the
    buyer's account pays `mode`."""
    one = order(sku)
    return plan_line(one, one.lines[0].model_copy(update=line), CATALOG, mode)


def test_each_line_asks_for_what_its_sku_and_account_allow() -> None:
    assert planned("NOPE") == Rejected("UNKNOWN_SKU", "SKU NOPE is not sold")
    assert isinstance(planned("BP-CARE-12"), Ignored)  # maintenance's line
    locked = planned("BP-SRV", mode="monthly")
    assert isinstance(locked, Rejected) and locked.code == "PAYMENT_MODE_LOCKED"
    assert isinstance(planned("BP-SRV"), Issue)
    assert isinstance(planned("BP-MSP-M", license_key="a-key"), Renewal)
    add_on = planned("BP-EXCH", license_key="a-key")
    assert isinstance(add_on, AddOn) and add_on.base_product == "backup-pro"
    too_new = planned("BP-SRV", major_version=99)
    assert isinstance(too_new, Rejected) and too_new.code == "MAJOR_VERSION_NOT_SOLD"
