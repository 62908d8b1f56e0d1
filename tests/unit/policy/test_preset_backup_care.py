"""Seed 000 as configuration: the `backup-care` preset.

A Server license bought 15 Jan 2026 10:00 UTC comes with 3 complimentary months of care
(to 15 Apr 2026). Care renewals: BM-CARE-12 at 120.00 USD, BM-CARE-24 at 216.00 USD.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.policy.coverage import Period, initial_periods, upgrade_period
from services.policy.eligibility import Release, check_eligibility, renewal_would_fix
from services.policy.lifecycle import coverage_state
from services.policy.renewal import apply_renewal, quote_renewal

from .support import at, license_of, offer, preset, sku_plan

CATALOG = preset("backup-care")
CARE = sku_plan(CATALOG, "BM-SRV")
CARE_12 = offer(CATALOG, "BM-CARE-12")
CARE_24 = offer(CATALOG, "BM-CARE-24")
BOUGHT = at(2026, 1, 15)
LICENSE = license_of(CATALOG, "BM-SRV", BOUGHT)
FREE = initial_periods(CARE, BOUGHT, 5)


def test_a_new_v5_license_comes_with_three_complimentary_months() -> None:
    assert LICENSE.major_version == 5
    assert initial_periods(CARE, BOUGHT, 5) == [Period(BOUGHT, at(2026, 4, 15), "complimentary")]
    assert (CARE_12.term_months, CARE_12.list_price, CARE_12.currency) == (
        12,
        Decimal("120.00"),
        "USD",
    )
    assert CARE_24.term_months == 24


def test_renewal_bought_during_the_free_months_starts_after_them_at_30_percent_off() -> None:
    quote = quote_renewal(CARE, LICENSE, FREE, CARE_12, at(2026, 3, 1))
    assert (quote.allowed, quote.code) == (True, "OK")
    assert (quote.starts_at, quote.ends_at) == (at(2026, 4, 15), at(2027, 4, 15))
    assert (quote.list_price, quote.discount_pct, quote.price) == (
        Decimal("120.00"),
        Decimal(30),
        Decimal("84.00"),
    )
    assert apply_renewal(quote) == Period(at(2026, 4, 15), at(2027, 4, 15), "renewal")


def test_renewal_two_months_after_the_free_months_starts_today_at_full_price() -> None:
    quote = quote_renewal(CARE, LICENSE, FREE, CARE_12, at(2026, 6, 15))
    assert (quote.starts_at, quote.ends_at) == (at(2026, 6, 15), at(2027, 6, 15))
    assert (quote.price, quote.discount_pct) == (Decimal("120.00"), Decimal(0))


def test_renewal_on_the_last_day_of_the_3_month_window_is_accepted() -> None:
    assert quote_renewal(CARE, LICENSE, FREE, CARE_12, at(2026, 7, 15)).allowed


def test_renewal_four_months_after_the_free_months_is_rejected_with_reason() -> None:
    quote = quote_renewal(CARE, LICENSE, FREE, CARE_12, at(2026, 8, 15))
    assert (quote.allowed, quote.code) == (False, "RENEWAL_WINDOW_CLOSED")
    assert "ended on 2026-04-15" in quote.reason
    assert "until 2026-07-15" in quote.reason
    assert quote.price is None


def test_paid_cover_expired_6_months_ago_renewed_today_ends_12_months_from_today() -> None:
    renewed = [*FREE, Period(at(2026, 4, 15), at(2027, 4, 15), "renewal")]
    today = at(2027, 10, 15)
    quote = quote_renewal(CARE, LICENSE, renewed, CARE_12, today)
    assert (quote.allowed, quote.starts_at, quote.ends_at) == (True, today, at(2028, 10, 15))
    assert quote.price == Decimal("120.00")  # expired: no early-renewal discount


def test_renewing_a_paid_cover_before_it_expires_saves_30_percent() -> None:
    renewed = [*FREE, Period(at(2026, 4, 15), at(2027, 4, 15), "renewal")]
    one_year = quote_renewal(CARE, LICENSE, renewed, CARE_12, at(2027, 3, 1))
    assert (one_year.starts_at, one_year.ends_at, one_year.price) == (
        at(2027, 4, 15),
        at(2028, 4, 15),
        Decimal("84.00"),
    )
    two_years = quote_renewal(CARE, LICENSE, renewed, CARE_24, at(2027, 3, 1))
    assert (two_years.ends_at, two_years.price) == (at(2029, 4, 15), Decimal("151.20"))


@pytest.mark.parametrize("major", [3, 4])
def test_version_3_and_4_licenses_must_upgrade_first(major: int) -> None:
    old = license_of(CATALOG, "BM-SRV", at(2020, 5, 1), major=major)
    quote = quote_renewal(CARE, old, [], CARE_12, at(2026, 3, 1))
    assert (quote.allowed, quote.code) == (False, "VERSION_TOO_OLD")
    assert "upgrade this version" in quote.reason and "to version 5 first" in quote.reason


def test_full_price_upgrade_includes_12_months() -> None:
    upgraded_at = at(2026, 9, 1)
    assert upgrade_period(CARE, FREE, upgraded_at) == Period(upgraded_at, at(2027, 9, 1), "upgrade")


def test_maintenance_releases_stay_free_without_care_new_versions_do_not() -> None:
    lapsed_at_release = Release.of("5.0.1", at(2029, 1, 1), "backup-manager")
    assert check_eligibility(LICENSE, CARE, FREE, lapsed_at_release).code == "FREE_UPDATE"
    v6_during_care = Release.of("6.0.0", at(2026, 4, 1), "backup-manager")
    verdict = check_eligibility(LICENSE, CARE, FREE, v6_during_care)
    assert (verdict.entitled, verdict.code, verdict.covering_period) == (True, "COVERED", FREE[0])
    v6_after_care = Release.of("6.0.0", at(2026, 5, 1), "backup-manager")
    refused = check_eligibility(LICENSE, CARE, FREE, v6_after_care)
    assert (refused.entitled, refused.code) == (False, "NOT_COVERED")
    # renewing on 1 Jun 2026 covers from 1 Jun: not the 1 May release, a full upgrade it is
    quote = quote_renewal(CARE, LICENSE, FREE, CARE_12, at(2026, 6, 1))
    assert quote.allowed and not renewal_would_fix(refused, v6_after_care, quote)
    # ...while an announced 1 Sep release would be reached by that renewal
    announced = Release.of("6.0.0", at(2026, 9, 1), "backup-manager")
    assert renewal_would_fix(check_eligibility(LICENSE, CARE, FREE, announced), announced, quote)


def test_add_on_licenses_are_upgraded_with_their_base() -> None:
    mailbox = license_of(CATALOG, "BM-MAILBOX", at(2026, 2, 1))
    addon_sku = CATALOG.sku("BM-MAILBOX")
    assert addon_sku is not None and addon_sku.plan is None  # no care of its own
    v6 = Release.of("6.0.0", at(2026, 4, 1), "mailbox-addon")
    verdict = check_eligibility(mailbox, CARE, FREE, v6, base=LICENSE)
    assert (verdict.entitled, verdict.code) == (True, "COVERED")
    assert check_eligibility(mailbox, None, [], v6).code == "NOT_COVERED"


def test_coverage_status_through_the_window() -> None:
    assert coverage_state(CARE, LICENSE, FREE, at(2026, 2, 1)).status == "active"
    window = coverage_state(CARE, LICENSE, FREE, at(2026, 5, 1))
    assert (window.status, window.ends_at, window.renew_until) == (
        "in_renewal_window",
        at(2026, 4, 15),
        at(2026, 7, 15),
    )
    assert window.notice_at == at(2026, 3, 16)  # 30 days before 15 Apr
    assert coverage_state(CARE, LICENSE, FREE, at(2026, 8, 1)).status == "lapsed"
