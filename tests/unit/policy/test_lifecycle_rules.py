"""Support lifecycle of major versions; coverage status and notice dates."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.policy.coverage import LicenseFacts, LicenseStatus, Period
from services.policy.lifecycle import (
    CoverageState,
    coverage_state,
    is_supported,
    notice_at,
    support_ends_at,
    supported_majors,
)
from services.policy.releases import Release

from .support import at, plan

RELEASES = [
    Release.of("16.0", at(2014, 3, 1)),
    Release.of("16.5", at(2014, 11, 1)),
    Release.of("17.0", at(2015, 4, 1)),
    Release.of("17.1", at(2015, 9, 1)),
    Release.of("18.0", at(2016, 6, 1)),
]


def test_support_ends_months_after_the_next_major() -> None:
    assert support_ends_at(16, RELEASES) == at(2016, 10, 1)
    assert support_ends_at(17, RELEASES) == at(2017, 12, 1)
    assert support_ends_at(17, RELEASES, 6) == at(2016, 12, 1)
    assert support_ends_at(18, RELEASES) is None  # no later major yet


def test_next_major_is_the_first_later_major_to_be_released() -> None:
    releases = [Release.of("1.0", at(2020, 1, 1)), Release.of("3.0", at(2021, 1, 1))]
    assert support_ends_at(1, releases, 12) == at(2022, 1, 1)  # major 2 was skipped
    # a 2.0 published after 3.0 does not push major 1's end back
    releases.append(Release.of("2.0", at(2022, 6, 1)))
    assert support_ends_at(1, releases, 12) == at(2022, 1, 1)
    assert support_ends_at(2, releases, 12) == at(2022, 1, 1)


@pytest.mark.parametrize(
    ("major", "when", "supported"),
    [
        (17, at(2015, 3, 31), True),  # only a later major discontinues one
        (17, at(2015, 4, 1), True),
        (17, at(2017, 11, 30), True),
        (17, at(2017, 12, 1), False),  # 18 months after 18.0
        (18, at(2030, 1, 1), True),
        (16, at(2016, 9, 30), True),
        (16, at(2016, 10, 1), False),
        (15, at(2016, 1, 1), False),  # never published: 18 months after 16.0 all the same
        (15, at(2015, 8, 31), True),
        (19, at(2030, 1, 1), True),  # beyond every published major: nothing discontinues it
    ],
)
def test_is_supported(major: int, when: datetime, supported: bool) -> None:
    assert is_supported(major, RELEASES, when) is supported


def test_supported_majors() -> None:
    assert supported_majors(RELEASES, at(2016, 7, 1)) == [16, 17, 18]
    assert supported_majors(RELEASES, at(2017, 1, 1)) == [17, 18]
    assert supported_majors(RELEASES, at(2018, 1, 1)) == [18]
    assert supported_majors([], at(2018, 1, 1)) == []


def test_notice_at() -> None:
    assert notice_at(plan(notice_days=30), at(2027, 3, 10)) == at(2027, 2, 8)
    assert notice_at(plan(notice_days=0), at(2027, 3, 10)) == at(2027, 3, 10)


def test_notice_lead_in_months_is_calendar_months() -> None:
    """Seed 002: "one month before the expiration date" is the same day a month earlier."""
    assert notice_at(plan(notice_months=1), at(2027, 1, 15)) == at(2026, 12, 15)
    assert notice_at(plan(notice_months=1), at(2027, 3, 31)) == at(2027, 2, 28)
    assert notice_at(plan(notice_months=2), at(2027, 3, 10)) == at(2027, 1, 10)


def test_a_plan_gives_its_notice_lead_in_one_unit() -> None:
    with pytest.raises(ValueError, match="notice_months or notice_days"):
        plan(notice_months=1, notice_days=30)


BOUGHT = at(2026, 1, 15)
LIC = LicenseFacts(purchased_at=BOUGHT, major_version=5)
FREE = [Period(BOUGHT, at(2026, 4, 15), "complimentary")]
PAID = [Period(BOUGHT, at(2027, 1, 15), "included")]


def test_status_of_complimentary_cover_with_window() -> None:
    p = plan(complimentary_months=3, renewal_window_months=3, notice_days=14)
    ends, notice, until = at(2026, 4, 15), at(2026, 4, 1), at(2026, 7, 15)
    assert coverage_state(p, LIC, FREE, at(2026, 2, 1)) == CoverageState(
        "active", ends, notice, until
    )
    assert coverage_state(p, LIC, FREE, ends).status == "in_renewal_window"
    assert coverage_state(p, LIC, FREE, until).status == "in_renewal_window"
    assert coverage_state(p, LIC, FREE, until + timedelta(seconds=1)) == CoverageState(
        "lapsed", ends, notice, until
    )


def test_status_of_lapsed_paid_cover() -> None:
    renewable = coverage_state(plan(), LIC, PAID, at(2028, 1, 1))
    assert renewable == CoverageState("lapsed", at(2027, 1, 15), at(2026, 12, 16), None)
    p = plan(lapsed_paid_renewal_allowed=False, renewal_window_months=1)
    assert coverage_state(p, LIC, PAID, at(2027, 2, 1)).status == "in_renewal_window"
    assert coverage_state(p, LIC, PAID, at(2027, 3, 1)).status == "lapsed"


def test_status_none_perpetual_and_gap() -> None:
    assert coverage_state(plan(), LIC, [], BOUGHT) == CoverageState("none", None, None, None)
    assert coverage_state(None, LIC, [], BOUGHT).status == "none"
    perpetual = coverage_state(plan(perpetual_while_active=True), LIC, [], at(2040, 1, 1))
    assert perpetual == CoverageState("perpetual", None, None, None)
    gap = [*PAID, Period(at(2027, 6, 1), at(2028, 6, 1), "association")]
    assert coverage_state(plan(), LIC, gap, at(2027, 3, 1)).status == "lapsed"
    assert coverage_state(plan(), LIC, gap, at(2027, 7, 1)).ends_at == at(2028, 6, 1)


@pytest.mark.parametrize("status", ["expired", "revoked", "deactivated"])
def test_ended_license(status: LicenseStatus) -> None:
    lic = LicenseFacts(purchased_at=BOUGHT, major_version=5, kind="msp", status=status)
    state = coverage_state(plan(perpetual_while_active=True), lic, [], at(2026, 3, 1))
    assert state == CoverageState("ended", None, None, None)
    dated = coverage_state(plan(), lic, PAID, at(2026, 3, 1))
    assert (dated.status, dated.ends_at) == ("ended", at(2027, 1, 15))


def test_suspended_license_keeps_its_coverage_status() -> None:
    lic = LicenseFacts(purchased_at=BOUGHT, major_version=5, status="suspended")
    assert coverage_state(plan(), lic, PAID, at(2026, 3, 1)).status == "active"
