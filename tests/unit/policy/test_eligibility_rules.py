"""Versions, releases and upgrade eligibility: each rule on its own."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from services.policy.coverage import LicenseFacts, LicenseStatus, Period
from services.policy.eligibility import (
    NO_PLAN,
    Release,
    Version,
    check_eligibility,
    parse_version,
    release_kind,
    renewal_would_fix,
)
from services.policy.renewal import quote_renewal

from .support import at, eur, plan

BOUGHT = at(2026, 1, 15)
LIC = LicenseFacts(
    purchased_at=BOUGHT, major_version=5, product="backup", edition="server", kind="perpetual"
)
COVER = [Period(BOUGHT, at(2027, 1, 15), "included")]


def rel(version: str, when: datetime, product: str | None = "backup") -> Release:
    return Release.of(version, when, product)


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("6", Version(6, 0, 0)),
        ("6.1", Version(6, 1, 0)),
        ("6.1.2", Version(6, 1, 2)),
        ("v6.1.2", Version(6, 1, 2)),
        (" 10.0.0 ", Version(10, 0, 0)),
    ],
)
def test_parse_version(text: str, version: Version) -> None:
    assert parse_version(text) == version


@pytest.mark.parametrize("text", ["", "six", "6.x", "6.0-rc1", "1.2.3.4", "-1", "6..1", "6."])
def test_parse_version_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_version(text)


def test_versions_compare_numerically() -> None:
    assert parse_version("5.10.0") > parse_version("5.9.9")
    assert parse_version("4.0.1") > parse_version("4.0.0")
    assert parse_version("5") == parse_version("5.0.0")
    assert sorted(map(parse_version, ["10", "9.1", "9.0.10", "9.0.2"])) == [
        Version(9, 0, 2),
        Version(9, 0, 10),
        Version(9, 1, 0),
        Version(10, 0, 0),
    ]
    assert str(parse_version("7.1")) == "7.1.0"


def test_release_kind() -> None:
    # seed 000: 4.0.0 → 4.0.1 is a maintenance release, 4.0.0 → 5.0.0 a version update
    assert release_kind(4, parse_version("4.0.1")) == "maintenance"
    assert release_kind(4, parse_version("5.0.0")) == "update"
    assert release_kind(5, parse_version("4.2.7")) == "maintenance"
    assert rel("5.2", BOUGHT).major == 5


def test_release_of_another_product_is_a_cross_grade() -> None:
    verdict = check_eligibility(LIC, plan(), COVER, rel("5.1", at(2026, 3, 1), "other"))
    assert (verdict.entitled, verdict.code) == (False, "CROSS_GRADE")


def test_other_edition_is_a_cross_grade_even_when_covered() -> None:
    verdict = check_eligibility(LIC, plan(), COVER, rel("5.1", at(2026, 3, 1)), edition="vmware")
    assert (verdict.entitled, verdict.code) == (False, "CROSS_GRADE")
    assert "needs a new license" in verdict.detail
    same = check_eligibility(LIC, plan(), COVER, rel("5.1", at(2026, 3, 1)), edition="server")
    assert same.entitled


def test_release_without_product_is_not_checked_for_one() -> None:
    assert check_eligibility(LIC, plan(), COVER, rel("5.1", at(2026, 3, 1), None)).entitled


@pytest.mark.parametrize("status", ["suspended", "expired", "revoked", "deactivated"])
def test_inactive_license_is_entitled_to_nothing(status: LicenseStatus) -> None:
    lic = LicenseFacts(purchased_at=BOUGHT, major_version=5, product="backup", status=status)
    verdict = check_eligibility(lic, plan(), COVER, rel("5.0.1", at(2026, 3, 1)))
    assert (verdict.entitled, verdict.code) == (False, "LICENSE_NOT_ACTIVE")


def test_earlier_major_is_entitled() -> None:
    verdict = check_eligibility(LIC, plan(), [], rel("4.2", at(2030, 1, 1)))
    assert (verdict.entitled, verdict.code) == (True, "EARLIER_MAJOR")


def test_free_updates_within_major_whatever_the_coverage() -> None:
    verdict = check_eligibility(LIC, plan(), [], rel("5.9.1", at(2030, 1, 1)))
    assert (verdict.entitled, verdict.code) == (True, "FREE_UPDATE")
    assert check_eligibility(LIC, None, [], rel("5.9.1", at(2030, 1, 1))).code == "FREE_UPDATE"
    assert NO_PLAN.free_updates_within_major


def test_without_free_updates_only_what_was_out_at_purchase_or_during_cover() -> None:
    p = plan(free_updates_within_major=False)
    out = check_eligibility(LIC, p, [], rel("5.0.3", BOUGHT))
    assert (out.entitled, out.code) == (True, "AVAILABLE_AT_PURCHASE")
    after = check_eligibility(LIC, p, [], rel("5.1", at(2026, 2, 1)))
    assert (after.entitled, after.code) == (False, "NOT_COVERED")
    assert "only the version available at the purchase date" in after.detail
    covered = check_eligibility(LIC, p, COVER, rel("5.1", at(2026, 2, 1)))
    assert (covered.entitled, covered.code, covered.covering_period) == (
        True,
        "COVERED",
        COVER[0],
    )


def test_later_major_by_release_date() -> None:
    p = plan()
    inside = check_eligibility(LIC, p, COVER, rel("6.0", at(2027, 1, 15, hour=9)))
    assert (inside.entitled, inside.code) == (True, "COVERED")
    at_end = check_eligibility(LIC, p, COVER, rel("6.0", at(2027, 1, 15)))
    assert (at_end.entitled, at_end.code) == (False, "NOT_COVERED")
    assert "upgrade at the full price" in at_end.detail
    two_majors_on = check_eligibility(LIC, p, COVER, rel("7.0", at(2026, 9, 1)))
    assert two_majors_on.entitled


def test_later_major_available_at_purchase_is_entitled() -> None:
    verdict = check_eligibility(LIC, plan(), [], rel("6.0", at(2025, 12, 1)))
    assert (verdict.entitled, verdict.code) == (True, "AVAILABLE_AT_PURCHASE")


def test_upgrade_grace_days_after_purchase() -> None:
    p = plan(upgrade_grace_days=30)
    day_30 = check_eligibility(LIC, p, [], rel("6.0", at(2026, 2, 14)))
    assert (day_30.entitled, day_30.code) == (True, "UPGRADE_GRACE")
    assert "within 30 days" in day_30.detail
    day_31 = check_eligibility(LIC, p, [], rel("6.0", at(2026, 2, 14, hour=11)))
    assert (day_31.entitled, day_31.code) == (False, "NOT_COVERED")
    # the grace is for new majors only
    no_free_updates = plan(upgrade_grace_days=30, free_updates_within_major=False)
    within = check_eligibility(LIC, no_free_updates, [], rel("5.1", at(2026, 2, 1)))
    assert within.code == "NOT_COVERED"


def test_perpetual_plan_entitles_every_later_release_while_active() -> None:
    msp = LicenseFacts(purchased_at=BOUGHT, major_version=5, kind="msp", product="backup")
    p = plan(perpetual_while_active=True, free_updates_within_major=False)
    for version in ("5.3", "6.0", "9.1"):
        verdict = check_eligibility(msp, p, [], rel(version, at(2031, 1, 1)))
        assert (verdict.entitled, verdict.code) == (True, "PERPETUAL_COVERAGE")


def test_add_on_follows_its_base_license() -> None:
    addon = LicenseFacts(
        purchased_at=at(2026, 6, 1), major_version=5, product="mailbox", edition="standard"
    )
    base_cover = [Period(BOUGHT, at(2027, 1, 15), "complimentary")]
    p = plan(free_updates_within_major=True)
    release = rel("6.0", at(2026, 12, 1), "mailbox")
    alone = check_eligibility(addon, None, [], release)
    assert alone.code == "NOT_COVERED"
    with_base = check_eligibility(addon, p, base_cover, release, base=LIC)
    assert (with_base.entitled, with_base.code) == (True, "COVERED")
    # its versions are the base product's (seed 000: upgraded with the base) ...
    of_base = check_eligibility(addon, p, base_cover, rel("6.0", at(2026, 12, 1)), base=LIC)
    assert (of_base.entitled, of_base.code) == (True, "COVERED")
    # ... and a release of any other product is still a cross-grade
    wrong = check_eligibility(addon, p, base_cover, rel("6.0", at(2026, 12, 1), "other"), base=LIC)
    assert wrong.code == "CROSS_GRADE"
    revoked_base = LicenseFacts(purchased_at=BOUGHT, major_version=5, status="revoked")
    gone = check_eligibility(addon, p, base_cover, release, base=revoked_base)
    assert gone.code == "LICENSE_NOT_ACTIVE" and "its base license" in gone.detail


def test_renewal_would_fix_only_what_its_period_reaches() -> None:
    p = plan(renewal_basis="previous_end_if_covered")
    now = at(2027, 6, 1)
    quote = quote_renewal(p, LIC, COVER, eur("100.00"), now)  # from 1 Jun 2027, lapsed
    during_gap = rel("6.0", at(2027, 3, 1))
    refused = check_eligibility(LIC, p, COVER, during_gap)
    assert refused.fixable_by_coverage
    assert not renewal_would_fix(refused, during_gap, quote)
    announced = rel("6.0", at(2027, 9, 1))
    refused_later = check_eligibility(LIC, p, COVER, announced)
    assert renewal_would_fix(refused_later, announced, quote)
    # previous_end buys the gap back, and the release in it
    back_dated = quote_renewal(plan(), LIC, COVER, eur("100.00"), now)
    assert back_dated.starts_at == at(2027, 1, 15)
    assert renewal_would_fix(refused, during_gap, back_dated)
    # a refusal a renewal cannot lift, and a refused renewal
    cross = check_eligibility(LIC, p, COVER, announced, edition="site")
    assert not renewal_would_fix(cross, announced, quote)
    too_old = quote_renewal(plan(min_major_version=6), LIC, COVER, eur("1"), now)
    assert not renewal_would_fix(refused_later, announced, too_old)
    assert quote.price == Decimal("100.00")
