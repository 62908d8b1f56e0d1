"""Renewal quotes, associations and upgrades: each rule on its own, with plain plans."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.policy.catalog import Sku
from services.policy.coverage import (
    LicenseFacts,
    LicenseStatus,
    Period,
    covered_time,
    initial_periods,
    upgrade_period,
)
from services.policy.renewal import (
    MaintenanceRefused,
    RenewalOffer,
    apply_renewal,
    association_period,
    discounted,
    money,
    quote_renewal,
    renewal_window_end,
)

from .support import at, eur, plan

BOUGHT = at(2026, 1, 15)
V5 = LicenseFacts(purchased_at=BOUGHT, major_version=5)
PAID = [Period(BOUGHT, at(2027, 1, 15), "included")]


@pytest.mark.parametrize(
    ("list_price", "pct", "price"),
    [
        ("59.00", "30", "41.30"),
        ("120.00", "30", "84.00"),
        ("0.05", "50", "0.03"),  # 0.025 rounds half-up
        ("0.15", "50", "0.08"),  # 0.075 rounds half-up, not to even
        ("99.99", "0", "99.99"),
        ("99.99", "100", "0.00"),
        ("10.00", "33.33", "6.67"),
    ],
)
def test_discount_is_rounded_to_cents_half_up(list_price: str, pct: str, price: str) -> None:
    assert discounted(Decimal(list_price), Decimal(pct)) == Decimal(price)


def test_money_rounds_half_up() -> None:
    assert money(Decimal("2.345")) == Decimal("2.35")
    assert money(Decimal("2.344")) == Decimal("2.34")
    assert str(money(Decimal(7))) == "7.00"


def test_first_purchase_without_any_cover_starts_now_at_list_price() -> None:
    quote = quote_renewal(plan(), V5, [], eur("100.00"), at(2026, 3, 1))
    assert (quote.allowed, quote.code) == (True, "OK")
    assert (quote.starts_at, quote.ends_at) == (at(2026, 3, 1), at(2027, 3, 1))
    assert (quote.price, quote.list_price, quote.discount_pct) == (
        Decimal("100.00"),
        Decimal("100.00"),
        Decimal(0),
    )
    assert quote.currency == "EUR" and quote.sku == "RENEW" and quote.source == "renewal"
    assert not quote.early_renewal
    assert apply_renewal(quote) == Period(at(2026, 3, 1), at(2027, 3, 1), "renewal")


@pytest.mark.parametrize("basis", ["previous_end", "previous_end_if_covered"])
def test_early_renewal_continues_from_the_end_with_discount(basis: str) -> None:
    p = plan(renewal_basis=basis, early_renewal_discount_pct=30)
    quote = quote_renewal(p, V5, PAID, eur("200.00", 24), at(2026, 12, 1))
    assert (quote.starts_at, quote.ends_at) == (at(2027, 1, 15), at(2029, 1, 15))
    assert (quote.price, quote.discount_pct) == (Decimal("140.00"), Decimal(30))
    assert quote.early_renewal
    assert "30 % early-renewal discount" in quote.reason


def test_previous_end_basis_back_dates_a_lapsed_renewal() -> None:
    p = plan(renewal_basis="previous_end", early_renewal_discount_pct=30)
    quote = quote_renewal(p, V5, PAID, eur("100.00"), at(2027, 7, 15))
    assert (quote.starts_at, quote.ends_at) == (at(2027, 1, 15), at(2028, 1, 15))
    assert quote.price == Decimal("100.00")  # lapsed: no early-renewal discount
    assert "restores" in quote.reason


def test_previous_end_basis_lapsed_longer_than_the_term_says_so() -> None:
    quote = quote_renewal(plan(), V5, PAID, eur("100.00"), at(2028, 6, 1))
    assert (quote.starts_at, quote.ends_at) == (at(2027, 1, 15), at(2028, 1, 15))
    assert "further renewals are needed" in quote.reason


def test_previous_end_if_covered_starts_a_lapsed_renewal_today() -> None:
    p = plan(renewal_basis="previous_end_if_covered")
    quote = quote_renewal(p, V5, PAID, eur("100.00"), at(2027, 7, 15))
    assert (quote.starts_at, quote.ends_at) == (at(2027, 7, 15), at(2028, 7, 15))


def test_the_end_instant_itself_is_already_lapsed() -> None:
    p = plan(renewal_basis="previous_end_if_covered", early_renewal_discount_pct=30)
    one_second_before = quote_renewal(
        p, V5, PAID, eur("100.00"), at(2027, 1, 15).replace(hour=9, minute=59, second=59)
    )
    assert one_second_before.early_renewal and one_second_before.starts_at == at(2027, 1, 15)
    at_end = quote_renewal(p, V5, PAID, eur("100.00"), at(2027, 1, 15))
    assert not at_end.early_renewal and at_end.price == Decimal("100.00")
    assert at_end.starts_at == at(2027, 1, 15)


def test_purchase_date_basis_runs_a_term_from_today() -> None:
    p = plan(renewal_basis="purchase_date", early_renewal_discount_pct=10)
    lapsed = quote_renewal(p, V5, PAID, eur("100.00"), at(2027, 3, 1))
    assert (lapsed.starts_at, lapsed.ends_at) == (at(2027, 3, 1), at(2028, 3, 1))
    # Still covered until 15 Jan 2027: the new period starts there, still ends a year
    # after the purchase; the remaining six weeks are not added.
    early = quote_renewal(p, V5, PAID, eur("100.00"), at(2026, 12, 1))
    assert (early.starts_at, early.ends_at) == (at(2027, 1, 15), at(2027, 12, 1))
    assert early.price == Decimal("90.00")


def test_purchase_date_basis_refuses_a_renewal_that_adds_nothing() -> None:
    p = plan(renewal_basis="purchase_date")
    long_cover = [Period(BOUGHT, at(2029, 1, 15), "included")]
    quote = quote_renewal(p, V5, long_cover, eur("100.00"), at(2026, 12, 1))
    assert (quote.allowed, quote.code) == (False, "ALREADY_COVERED")
    assert "2029-01-15" in quote.reason
    assert quote.price is None and quote.starts_at is None and quote.period is None


@pytest.mark.parametrize("basis", ["previous_end", "purchase_date", "previous_end_if_covered"])
def test_renewal_during_complimentary_months_starts_after_them(basis: str) -> None:
    p = plan(complimentary_months=3, renewal_basis=basis, early_renewal_discount_pct=30)
    periods = initial_periods(p, BOUGHT, 5)
    quote = quote_renewal(p, V5, periods, eur("100.00"), at(2026, 2, 20))
    assert (quote.starts_at, quote.ends_at) == (at(2026, 4, 15), at(2027, 4, 15))
    assert quote.price == Decimal("70.00")


def test_complimentary_renewal_window() -> None:
    p = plan(complimentary_months=3, renewal_window_months=3, renewal_basis="purchase_date")
    periods = initial_periods(p, BOUGHT, 5)  # free until 15 Apr 2026
    assert renewal_window_end(p, periods) == at(2026, 7, 15)
    last_moment = quote_renewal(p, V5, periods, eur("100.00"), at(2026, 7, 15))
    assert last_moment.allowed and last_moment.starts_at == at(2026, 7, 15)
    late = quote_renewal(p, V5, periods, eur("100.00"), at(2026, 7, 15, hour=11))
    assert (late.allowed, late.code) == (False, "RENEWAL_WINDOW_CLOSED")
    assert late.reason == (
        "The complimentary maintenance ended on 2026-04-15 and could be renewed until"
        " 2026-07-15; that renewal window has closed."
    )
    assert late.list_price == Decimal("100.00") and late.price is None


def test_complimentary_cover_without_window_renews_any_time() -> None:
    p = plan(complimentary_months=3)
    periods = initial_periods(p, BOUGHT, 5)
    assert renewal_window_end(p, periods) is None
    assert quote_renewal(p, V5, periods, eur("1.00"), at(2030, 1, 1)).allowed


def test_lapsed_paid_cover_renews_any_time_when_allowed_even_with_a_window() -> None:
    p = plan(renewal_window_months=3, renewal_basis="previous_end_if_covered")
    assert renewal_window_end(p, PAID) is None
    quote = quote_renewal(p, V5, PAID, eur("100.00"), at(2029, 1, 1))
    assert (quote.starts_at, quote.ends_at) == (at(2029, 1, 1), at(2030, 1, 1))


def test_lapsed_paid_cover_not_renewable_without_window() -> None:
    p = plan(lapsed_paid_renewal_allowed=False)
    assert renewal_window_end(p, PAID) == at(2027, 1, 15)
    quote = quote_renewal(p, V5, PAID, eur("100.00"), at(2027, 1, 16))
    assert (quote.allowed, quote.code) == (False, "LAPSED_RENEWAL_NOT_ALLOWED")
    assert quote.reason == (
        "Maintenance ended on 2027-01-15; this plan cannot be renewed once it has lapsed."
    )


def test_lapsed_paid_cover_renewable_within_the_window_when_not_allowed_later() -> None:
    p = plan(lapsed_paid_renewal_allowed=False, renewal_window_months=1)
    assert quote_renewal(p, V5, PAID, eur("100.00"), at(2027, 2, 15)).allowed
    late = quote_renewal(p, V5, PAID, eur("100.00"), at(2027, 2, 16))
    assert late.code == "LAPSED_RENEWAL_NOT_ALLOWED"
    assert "could be renewed until 2027-02-15" in late.reason


@pytest.mark.parametrize(
    ("major", "allowed"), [(3, False), (4, False), (5, True), (6, True), (12, True)]
)
def test_minimum_major_version(major: int, allowed: bool) -> None:
    p = plan(min_major_version=5)
    lic = LicenseFacts(purchased_at=BOUGHT, major_version=major)
    quote = quote_renewal(p, lic, [], eur("100.00"), at(2026, 3, 1))
    assert quote.allowed is allowed
    if not allowed:
        assert quote.code == "VERSION_TOO_OLD"
        assert quote.reason == (
            f"Maintenance is sold for version 5 or later; upgrade this version {major}"
            " license to version 5 first."
        )


def test_perpetual_plan_needs_no_renewal() -> None:
    p = plan(perpetual_while_active=True)
    msp = LicenseFacts(purchased_at=BOUGHT, major_version=2, kind="msp")
    quote = quote_renewal(p, msp, [], eur("10.00"), at(2026, 3, 1))
    assert (quote.allowed, quote.code) == (False, "PERPETUAL_COVERAGE")
    with pytest.raises(MaintenanceRefused) as info:
        apply_renewal(quote)
    assert info.value.code == "PERPETUAL_COVERAGE"
    assert info.value.reason == quote.reason


@pytest.mark.parametrize("status", ["suspended", "expired", "revoked", "deactivated"])
def test_inactive_license_cannot_renew(status: LicenseStatus) -> None:
    lic = LicenseFacts(purchased_at=BOUGHT, major_version=5, status=status)
    quote = quote_renewal(plan(perpetual_while_active=True), lic, [], eur("1"), BOUGHT)
    assert (quote.allowed, quote.code) == (False, "LICENSE_NOT_ACTIVE")
    assert status in quote.reason


def test_offer_from_sku() -> None:
    p = plan(term_months=12)
    own_term = Sku(code="R24", kind="maintenance", product="x", plan="p", term_months=24)
    plan_term = Sku(code="R", kind="maintenance", product="x", plan="p", list_price=Decimal(9))
    assert RenewalOffer.from_sku(own_term, p, "EUR").term_months == 24
    assert RenewalOffer.from_sku(plan_term, p, "USD") == RenewalOffer(
        12, Decimal("9.00"), "USD", "R"
    )
    license_sku = Sku(
        code="L", kind="license", product="x", edition="e", license_kind="perpetual", plan="p"
    )
    with pytest.raises(ValueError, match="not a maintenance"):
        RenewalOffer.from_sku(license_sku, p, "EUR")
    with pytest.raises(ValueError, match="at least one month"):
        RenewalOffer(0, Decimal(1), "EUR")
    with pytest.raises(ValueError, match="negative"):
        RenewalOffer(12, Decimal(-1), "EUR")


def test_association_starts_on_the_code_purchase_day_for_exactly_the_term() -> None:
    p = plan(term_months=12)
    # Bought 1 Jun, associated three weeks later: still runs from 1 Jun.
    period = association_period(p, [], at(2026, 6, 1), at(2026, 6, 22))
    assert period == Period(at(2026, 6, 1), at(2027, 6, 1), "association")


def test_second_association_stacks_after_the_first() -> None:
    p = plan(term_months=12)
    first = association_period(p, [], at(2026, 6, 1), at(2026, 6, 1))
    second = association_period(p, [first], at(2026, 9, 1), at(2026, 9, 2))
    assert second == Period(at(2027, 6, 1), at(2028, 6, 1), "association")
    assert covered_time([first, second]) == first.length + second.length


def test_association_after_a_lapse_starts_on_the_code_purchase_day() -> None:
    period = association_period(plan(), PAID, at(2027, 5, 1), at(2027, 5, 3))
    assert period == Period(at(2027, 5, 1), at(2028, 5, 1), "association")


def test_association_term_override_and_errors() -> None:
    p = plan(term_months=12)
    assert association_period(p, [], BOUGHT, BOUGHT, term_months=24).ends_at == at(2028, 1, 15)
    with pytest.raises(ValueError, match="bought after"):
        association_period(p, [], at(2026, 2, 1), at(2026, 1, 31))
    with pytest.raises(ValueError, match="at least one month"):
        association_period(p, [], BOUGHT, BOUGHT, term_months=0)
    with pytest.raises(MaintenanceRefused) as perpetual:
        association_period(plan(perpetual_while_active=True), [], BOUGHT, BOUGHT)
    assert perpetual.value.code == "PERPETUAL_COVERAGE"
    v4 = LicenseFacts(purchased_at=BOUGHT, major_version=4)
    with pytest.raises(MaintenanceRefused) as old:
        association_period(plan(min_major_version=5), [], BOUGHT, BOUGHT, license=v4)
    assert old.value.code == "VERSION_TOO_OLD"
    revoked = LicenseFacts(purchased_at=BOUGHT, major_version=5, status="revoked")
    with pytest.raises(MaintenanceRefused) as inactive:
        association_period(p, [], BOUGHT, BOUGHT, license=revoked)
    assert inactive.value.code == "LICENSE_NOT_ACTIVE"


def test_full_price_upgrade_includes_cover_after_any_running_one() -> None:
    p = plan(upgrade_included_months=12)
    assert upgrade_period(p, [], at(2026, 5, 1)) == Period(
        at(2026, 5, 1), at(2027, 5, 1), "upgrade"
    )
    assert upgrade_period(p, PAID, at(2026, 5, 1)) == Period(
        at(2027, 1, 15), at(2028, 1, 15), "upgrade"
    )
    assert upgrade_period(plan(), [], at(2026, 5, 1)) is None
