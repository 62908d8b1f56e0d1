"""Seed 004 as configuration: the `backup-suite` preset.

A Server license (v18) bought 1 Jun 2026 includes a year of care, to 1 Jun 2027; each care
plan runs a year from its purchase (BS-SRV-CARE, 90.00 USD). Subscriptions are covered
while active. A new major released within 30 days of the purchase is free. Each major is
supported until 18 months after the next one.
"""

from __future__ import annotations

from decimal import Decimal

from services.policy.coverage import Period, initial_periods
from services.policy.eligibility import Release, check_eligibility, renewal_would_fix
from services.policy.lifecycle import coverage_state, is_supported, supported_majors
from services.policy.renewal import quote_renewal

from .support import at, license_of, offer, preset, sku_plan

CATALOG = preset("backup-suite")
CARE = sku_plan(CATALOG, "BS-SRV")
BOUGHT = at(2026, 6, 1)
SERVER = license_of(CATALOG, "BS-SRV", BOUGHT)
YEAR = initial_periods(CARE, BOUGHT, 5)
RENEW = offer(CATALOG, "BS-SRV-CARE")


def rel(version: str, year: int, month: int, day: int, hour: int = 10) -> Release:
    return Release.of(version, at(year, month, day, hour), "backup-server")


def test_product_bought_outright_includes_a_full_year_of_care() -> None:
    assert SERVER.major_version == 18
    assert initial_periods(CARE, BOUGHT, 5) == [Period(BOUGHT, at(2027, 6, 1), "included")]
    assert (RENEW.term_months, RENEW.list_price, RENEW.currency) == (12, Decimal("90.00"), "USD")


def test_care_entitles_every_major_released_while_it_runs() -> None:
    verdict = check_eligibility(SERVER, CARE, YEAR, rel("19.0", 2027, 3, 1))
    assert (verdict.entitled, verdict.code) == (True, "COVERED")
    after = check_eligibility(SERVER, CARE, YEAR, rel("19.0", 2027, 7, 15))
    assert (after.entitled, after.code) == (False, "NOT_COVERED")


def test_updates_within_the_major_are_free_for_every_registered_user() -> None:
    verdict = check_eligibility(SERVER, CARE, [], rel("18.7", 2030, 1, 1))
    assert (verdict.entitled, verdict.code) == (True, "FREE_UPDATE")


def test_new_major_within_30_days_of_purchase_is_a_free_upgrade() -> None:
    # a license whose care is not on record (e.g. migrated): the grace still applies
    day_30 = check_eligibility(SERVER, CARE, [], rel("19.0", 2026, 7, 1))
    assert (day_30.entitled, day_30.code) == (True, "UPGRADE_GRACE")
    day_31 = check_eligibility(SERVER, CARE, [], rel("19.0", 2026, 7, 2))
    assert (day_31.entitled, day_31.code) == (False, "NOT_COVERED")


def test_care_runs_a_year_from_the_renewal_purchase() -> None:
    # bought on 1 May 2027 while covered to 1 Jun 2027: ends 1 May 2028, the month left
    # is not added (the new period starts where the old one ends)
    early = quote_renewal(CARE, SERVER, YEAR, RENEW, at(2027, 5, 1))
    assert (early.starts_at, early.ends_at, early.price) == (
        at(2027, 6, 1),
        at(2028, 5, 1),
        Decimal("90.00"),
    )
    late = quote_renewal(CARE, SERVER, YEAR, RENEW, at(2027, 9, 1))
    assert (late.starts_at, late.ends_at, late.price) == (
        at(2027, 9, 1),
        at(2028, 9, 1),
        Decimal("90.00"),
    )


def test_a_major_released_during_an_interruption_needs_a_full_version() -> None:
    v19 = rel("19.0", 2027, 7, 15)
    refused = check_eligibility(SERVER, CARE, YEAR, v19)
    quote = quote_renewal(CARE, SERVER, YEAR, RENEW, at(2027, 9, 1))
    assert refused.fixable_by_coverage and not renewal_would_fix(refused, v19, quote)


def test_subscription_includes_care_while_active() -> None:
    plan = sku_plan(CATALOG, "BS-SRV-SUB")
    sub = license_of(CATALOG, "BS-SRV-SUB", BOUGHT)
    assert sub.kind == "subscription" and initial_periods(plan, BOUGHT, 5) == []
    assert coverage_state(plan, sub, [], at(2029, 1, 1)).status == "perpetual"
    verdict = check_eligibility(sub, plan, [], rel("21.0", 2029, 1, 1))
    assert (verdict.entitled, verdict.code) == (True, "PERPETUAL_COVERAGE")
    quote = quote_renewal(plan, sub, [], RENEW, at(2027, 1, 1))
    assert quote.code == "PERPETUAL_COVERAGE"
    expired = license_of(CATALOG, "BS-SRV-SUB", BOUGHT, status="expired")
    assert coverage_state(plan, expired, [], at(2028, 1, 1)).status == "ended"
    assert check_eligibility(expired, plan, [], rel("21.0", 2029, 1, 1)).entitled is False


def test_majors_are_supported_18_months_after_the_next_one() -> None:
    product = CATALOG.product("backup-server")
    assert product is not None and product.support_months_after_next_major == 18
    months = product.support_months_after_next_major
    releases = [
        Release.of("16.0", at(2014, 3, 1)),
        Release.of("17.0", at(2015, 4, 1)),  # "Released: April 2015"
        Release.of("18.0", at(2016, 6, 1)),  # "Released: June 2016"
    ]
    assert is_supported(17, releases, at(2017, 11, 30), months)
    assert not is_supported(17, releases, at(2017, 12, 1), months)  # June 2016 + 18 months
    assert supported_majors(releases, at(2016, 7, 1), months) == [16, 17, 18]
    assert supported_majors(releases, at(2018, 1, 1), months) == [18]


def test_data_center_maintenance_is_due_annually_from_its_end() -> None:
    plan = sku_plan(CATALOG, "BS-DC")
    dc = license_of(CATALOG, "BS-DC", BOUGHT)
    periods = initial_periods(plan, BOUGHT, 5)
    quote = quote_renewal(plan, dc, periods, offer(CATALOG, "BS-DC-MAINT"), at(2027, 8, 1))
    assert (quote.starts_at, quote.ends_at, quote.price) == (
        at(2027, 6, 1),
        at(2028, 6, 1),
        Decimal("500.00"),
    )
