"""Seed 002 as configuration: the `scheduler-maintenance` preset.

A 1-Year Maintenance & Support Pack runs exactly 12 months from the day it is bought. It
comes with a license (TS-SRV-PACK) or on its own as a code (TS-MAINT-SRV 129.00 EUR,
TS-MAINT-SITE 449.00 EUR) associated later; another code on the same license extends it.
Without a pack: only the version available at the purchase date.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from services.policy.coverage import Period, covered_time, initial_periods
from services.policy.eligibility import Release, check_eligibility
from services.policy.lifecycle import coverage_state, notice_at
from services.policy.renewal import association_period, quote_renewal

from .support import at, license_of, offer, preset, sku_plan

CATALOG = preset("scheduler-maintenance")
PACK = sku_plan(CATALOG, "TS-SRV-PACK")
NO_PACK = sku_plan(CATALOG, "TS-SRV")
BOUGHT = at(2026, 3, 10)
BARE = license_of(CATALOG, "TS-SRV", BOUGHT)
COMBINED = license_of(CATALOG, "TS-SRV-PACK", BOUGHT)


def rel(version: str, year: int, month: int, day: int) -> Release:
    return Release.of(version, at(year, month, day), "task-scheduler")


def test_combined_license_is_covered_exactly_12_months_from_purchase() -> None:
    assert initial_periods(PACK, BOUGHT, 5) == [Period(BOUGHT, at(2027, 3, 10), "included")]
    assert initial_periods(NO_PACK, BOUGHT, 5) == []
    combined = CATALOG.sku("TS-SRV-PACK")
    bare, code = CATALOG.sku("TS-SRV"), CATALOG.sku("TS-MAINT-SRV")
    assert combined is not None and bare is not None and code is not None
    assert combined.list_price < bare.list_price + code.list_price  # combined is cheaper


def test_server_and_site_packs_are_sold_separately() -> None:
    server, site = offer(CATALOG, "TS-MAINT-SRV"), offer(CATALOG, "TS-MAINT-SITE")
    assert (server.term_months, server.list_price) == (12, Decimal("129.00"))
    assert (site.term_months, site.list_price) == (12, Decimal("449.00"))
    site_sku = CATALOG.sku("TS-MAINT-SITE")
    assert site_sku is not None and site_sku.edition == "site"


def test_renewal_notice_goes_out_one_month_before_expiry() -> None:
    """Seed 002: "one month before the expiration date", a calendar month."""
    assert notice_at(PACK, at(2027, 3, 10)) == at(2027, 2, 10)
    assert notice_at(PACK, at(2027, 1, 15)) == at(2026, 12, 15)  # not 30 days (16 Dec)
    state = coverage_state(PACK, COMBINED, initial_periods(PACK, BOUGHT, 5), at(2026, 6, 1))
    assert (state.status, state.ends_at, state.notice_at) == (
        "active",
        at(2027, 3, 10),
        at(2027, 2, 10),
    )


def test_without_a_pack_only_the_version_available_at_purchase() -> None:
    out_before = check_eligibility(BARE, NO_PACK, [], rel("9.0.4", 2026, 2, 1))
    assert (out_before.entitled, out_before.code) == (True, "AVAILABLE_AT_PURCHASE")
    minor_after = check_eligibility(BARE, NO_PACK, [], rel("9.1.0", 2026, 5, 1))
    assert (minor_after.entitled, minor_after.code) == (False, "NOT_COVERED")
    assert coverage_state(NO_PACK, BARE, [], at(2026, 5, 1)).status == "none"


def test_code_bought_1_june_associated_20_june_runs_from_1_june() -> None:
    period = association_period(NO_PACK, [], at(2026, 6, 1), at(2026, 6, 20), license=BARE)
    assert period == Period(at(2026, 6, 1), at(2027, 6, 1), "association")
    periods = [period]
    # minor releases and next majors released during the support period are included
    assert check_eligibility(BARE, NO_PACK, periods, rel("9.2.0", 2026, 7, 1)).code == "COVERED"
    assert check_eligibility(BARE, NO_PACK, periods, rel("10.0", 2027, 1, 1)).entitled
    # the 1 May minor came before the pack; the July 2027 major after it
    assert not check_eligibility(BARE, NO_PACK, periods, rel("9.1.0", 2026, 5, 1)).entitled
    assert not check_eligibility(BARE, NO_PACK, periods, rel("10.0", 2027, 7, 1)).entitled


def test_a_second_code_on_the_same_license_increases_its_maintenance_date() -> None:
    first = association_period(NO_PACK, [], at(2026, 6, 1), at(2026, 6, 20))
    second = association_period(NO_PACK, [first], at(2026, 9, 1), at(2026, 9, 1))
    assert second == Period(at(2027, 6, 1), at(2028, 6, 1), "association")
    assert covered_time([first, second]) == at(2028, 6, 1) - at(2026, 6, 1)
    assert covered_time([first, second]) == first.length + second.length


def test_code_associated_with_a_combined_license_extends_its_included_year() -> None:
    included = initial_periods(PACK, BOUGHT, 5)
    period = association_period(PACK, included, at(2026, 6, 1), at(2026, 6, 2))
    assert period == Period(at(2027, 3, 10), at(2028, 3, 10), "association")


def test_code_bought_after_the_pack_lapsed_runs_12_months_from_its_purchase() -> None:
    included = initial_periods(PACK, BOUGHT, 5)
    period = association_period(PACK, included, at(2027, 5, 1), at(2027, 5, 3))
    assert period == Period(at(2027, 5, 1), at(2028, 5, 1), "association")
    assert period.length == timedelta(days=366)  # 2028 is a leap year


def test_pack_bought_as_renewal_extends_a_running_pack_and_restarts_a_lapsed_one() -> None:
    code = offer(CATALOG, "TS-MAINT-SRV")
    included = initial_periods(PACK, BOUGHT, 5)
    early = quote_renewal(PACK, COMBINED, included, code, at(2027, 2, 8))
    assert (early.starts_at, early.ends_at, early.price) == (
        at(2027, 3, 10),
        at(2028, 3, 10),
        Decimal("129.00"),  # no early-renewal discount in this policy
    )
    late = quote_renewal(PACK, COMBINED, included, code, at(2027, 8, 1))
    assert (late.starts_at, late.ends_at) == (at(2027, 8, 1), at(2028, 8, 1))
