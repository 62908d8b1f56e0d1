"""A license's cover end and notice date follow from its periods (`Coverage.with_cover`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.maintenance.domain.records import Coverage
from services.policy.catalog import load_catalog
from services.policy.catalog.loader import DEMO_CATALOG
from services.policy.coverage import Period
from services.policy.lifecycle import notice_at

PLAN = load_catalog(DEMO_CATALOG).plan("backup-care-12")


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def license(perpetual: bool = False) -> Coverage:
    return Coverage(
        license_id=uuid.uuid4(),
        license_key="BP-TEST",
        product="backup-pro",
        edition="server",
        account_id="acme",
        contact_email="it@acme.example",
        plan="backup-care-12",
        purchased_at=at(2026, 1, 1),
        major_version=5,
        perpetual=perpetual,
        status="active",
        ends_at=None,
        notice_at=None,
        base_license_id=None,
        reseller_account_id=None,
    )


PERIODS = [
    Period(at(2026, 1, 1), at(2026, 4, 1), "complimentary"),
    Period(at(2026, 4, 1), at(2027, 4, 1), "renewal"),
]


def test_the_cover_ends_with_the_last_period_and_the_notice_comes_before() -> None:
    assert PLAN is not None
    covered = license().with_cover(PERIODS, PLAN)
    assert covered.ends_at == at(2027, 4, 1)
    assert covered.notice_at == notice_at(PLAN, at(2027, 4, 1)) < at(2027, 4, 1)


def test_a_perpetual_or_never_covered_license_has_no_end_and_no_notice() -> None:
    assert license(perpetual=True).with_cover(PERIODS, PLAN).ends_at is None
    uncovered = license().with_cover([], PLAN)
    assert (uncovered.ends_at, uncovered.notice_at) == (None, None)


def test_without_a_plan_there_is_no_notice() -> None:
    covered = license().with_cover(PERIODS, None)
    assert (covered.ends_at, covered.notice_at) == (at(2027, 4, 1), None)
