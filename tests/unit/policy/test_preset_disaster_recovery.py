"""Seed 003 as configuration: the `disaster-recovery` preset.

Perpetual licenses come with 1 to 5 years of maintenance and are extended by 1, 2 or 3
years from the contract's end; the software keeps running without it. MSP licenses include
maintenance while active. A Hyper-V license bought 1 Feb 2026 with 3 years: covered to
1 Feb 2029. Renewals (Hyper-V): 180.00 / 342.00 / 486.00 GBP for 1 / 2 / 3 years.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from services.policy.coverage import Period, initial_periods
from services.policy.eligibility import Release, check_eligibility, renewal_would_fix
from services.policy.lifecycle import coverage_state
from services.policy.renewal import apply_renewal, quote_renewal

from .support import at, license_of, offer, preset, sku_plan

CATALOG = preset("disaster-recovery")
BOUGHT = at(2026, 2, 1)
THREE_YEARS = sku_plan(CATALOG, "IB-HV-3Y")
HYPER_V = license_of(CATALOG, "IB-HV-3Y", BOUGHT)
COVER = initial_periods(THREE_YEARS, BOUGHT, 5)


def rel(version: str, year: int, month: int, day: int) -> Release:
    return Release.of(version, at(year, month, day), "image-backup")


@pytest.mark.parametrize("years", [1, 2, 3, 4, 5])
def test_perpetual_license_comes_with_1_to_5_years(years: int) -> None:
    plan = sku_plan(CATALOG, f"IB-WS-{years}Y")
    assert initial_periods(plan, BOUGHT, 5) == [Period(BOUGHT, at(2026 + years, 2, 1), "included")]


def test_three_year_license_is_covered_until_1_feb_2029() -> None:
    assert initial_periods(THREE_YEARS, BOUGHT, 5) == [Period(BOUGHT, at(2029, 2, 1), "included")]
    assert coverage_state(THREE_YEARS, HYPER_V, COVER, at(2028, 12, 1)).notice_at == at(2029, 1, 2)


@pytest.mark.parametrize(
    ("sku", "ends", "price"),
    [
        ("IB-HV-RENEW-1Y", at(2030, 2, 1), "180.00"),
        ("IB-HV-RENEW-2Y", at(2031, 2, 1), "342.00"),
        ("IB-HV-RENEW-3Y", at(2032, 2, 1), "486.00"),
    ],
)
def test_extend_by_1_2_or_3_years_from_the_end(sku: str, ends: datetime, price: str) -> None:
    quote = quote_renewal(THREE_YEARS, HYPER_V, COVER, offer(CATALOG, sku), at(2029, 1, 10))
    assert (quote.allowed, quote.starts_at, quote.ends_at) == (True, at(2029, 2, 1), ends)
    assert quote.price == Decimal(price)  # no early-renewal discount in this policy


def test_lapsed_maintenance_is_extended_from_its_end_and_buys_back_the_gap() -> None:
    now = at(2029, 8, 1)
    v11 = rel("11.0", 2029, 5, 1)  # released while maintenance had lapsed
    refused = check_eligibility(HYPER_V, THREE_YEARS, COVER, v11)
    assert (refused.entitled, refused.code) == (False, "NOT_COVERED")
    quote = quote_renewal(THREE_YEARS, HYPER_V, COVER, offer(CATALOG, "IB-HV-RENEW-1Y"), now)
    assert (quote.starts_at, quote.ends_at, quote.price) == (
        at(2029, 2, 1),
        at(2030, 2, 1),
        Decimal("180.00"),
    )
    assert renewal_would_fix(refused, v11, quote)
    renewed = [*COVER, apply_renewal(quote)]
    assert check_eligibility(HYPER_V, THREE_YEARS, renewed, v11).code == "COVERED"


def test_software_keeps_running_without_maintenance() -> None:
    lapsed = coverage_state(THREE_YEARS, HYPER_V, COVER, at(2030, 1, 1))
    assert (lapsed.status, lapsed.renew_until) == ("lapsed", None)
    update = check_eligibility(HYPER_V, THREE_YEARS, COVER, rel("10.4.2", 2031, 1, 1))
    assert (update.entitled, update.code) == (True, "FREE_UPDATE")


def test_changing_edition_needs_a_new_license_even_with_maintenance() -> None:
    verdict = check_eligibility(
        HYPER_V, THREE_YEARS, COVER, rel("10.1", 2026, 6, 1), edition="vmware"
    )
    assert (verdict.entitled, verdict.code) == (False, "CROSS_GRADE")


def test_msp_license_has_maintenance_until_deactivated() -> None:
    msp_plan = sku_plan(CATALOG, "IB-VM-MSP-M")
    msp = license_of(CATALOG, "IB-VM-MSP-M", BOUGHT)
    assert msp.kind == "msp"
    assert coverage_state(msp_plan, msp, [], at(2040, 1, 1)).status == "perpetual"
    assert check_eligibility(msp, msp_plan, [], rel("14.0", 2035, 1, 1)).entitled
    quote = quote_renewal(msp_plan, msp, [], offer(CATALOG, "IB-VM-RENEW-1Y"), at(2027, 1, 1))
    assert quote.code == "PERPETUAL_COVERAGE"
    gone = license_of(CATALOG, "IB-VM-MSP-M", BOUGHT, status="deactivated")
    assert coverage_state(msp_plan, gone, [], at(2027, 1, 1)).status == "ended"
    refused = check_eligibility(gone, msp_plan, [], rel("10.1", 2026, 6, 1))
    assert (refused.entitled, refused.code) == (False, "LICENSE_NOT_ACTIVE")
