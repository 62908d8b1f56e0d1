"""Coverage periods a new license starts with."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.policy.catalog import MaintenancePlan
from services.policy.coverage import Period, add_months, coverage_end, initial_periods

PURCHASED = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def plan(complimentary: int = 0, included: int = 0, perpetual: bool = False) -> MaintenancePlan:
    return MaintenancePlan(
        code="p",
        name="Plan",
        complimentary_months=complimentary,
        included_months=included,
        perpetual_while_active=perpetual,
    )


def test_three_complimentary_months() -> None:
    periods = initial_periods(plan(complimentary=3), PURCHASED, 5)
    assert periods == [Period(PURCHASED, datetime(2027, 2, 21, 10, 0, tzinfo=UTC), "complimentary")]
    assert coverage_end(periods) == datetime(2027, 2, 21, 10, 0, tzinfo=UTC)


def test_complimentary_then_included_are_contiguous() -> None:
    periods = initial_periods(plan(complimentary=3, included=12), PURCHASED, 5)
    feb = datetime(2027, 2, 21, 10, 0, tzinfo=UTC)
    assert periods == [
        Period(PURCHASED, feb, "complimentary"),
        Period(feb, datetime(2028, 2, 21, 10, 0, tzinfo=UTC), "included"),
    ]
    assert coverage_end(periods) == datetime(2028, 2, 21, 10, 0, tzinfo=UTC)


def test_included_only() -> None:
    periods = initial_periods(plan(included=12), PURCHASED, 5)
    assert periods == [Period(PURCHASED, datetime(2027, 11, 21, 10, 0, tzinfo=UTC), "included")]


def test_plan_without_initial_cover_starts_none() -> None:
    assert initial_periods(plan(), PURCHASED, 5) == []
    assert coverage_end([]) is None
    # perpetual plans are covered while active: no dated period either
    assert initial_periods(plan(perpetual=True), PURCHASED, 5) == []


def test_add_months_end_of_month() -> None:
    assert add_months(datetime(2027, 1, 31, tzinfo=UTC), 1) == datetime(2027, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2028, 1, 31, tzinfo=UTC), 1) == datetime(2028, 2, 29, tzinfo=UTC)
    assert add_months(datetime(2026, 3, 31, tzinfo=UTC), 1) == datetime(2026, 4, 30, tzinfo=UTC)
    assert add_months(datetime(2026, 8, 31, tzinfo=UTC), 6) == datetime(2027, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2028, 2, 29, tzinfo=UTC), 12) == datetime(2029, 2, 28, tzinfo=UTC)


def test_add_months_keeps_time_and_zone() -> None:
    zone = timezone(timedelta(hours=-5))
    start = datetime(2026, 11, 21, 23, 30, 15, tzinfo=zone)
    assert add_months(start, 2) == datetime(2027, 1, 21, 23, 30, 15, tzinfo=zone)
    assert add_months(start, 0) == start


def test_coverage_end_is_latest_end_in_any_order() -> None:
    a = Period(PURCHASED, PURCHASED + timedelta(days=10), "purchase")
    b = Period(PURCHASED, PURCHASED + timedelta(days=40), "renewal")
    assert coverage_end([b, a]) == b.ends_at


instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.just(UTC)
)


def test_included_months_count_from_purchase_not_from_clamped_end() -> None:
    """29 Dec + 2 months clamps to 28 Feb; the included month must still end 29 Mar."""
    start = datetime(2000, 12, 29, tzinfo=UTC)
    periods = initial_periods(plan(complimentary=2, included=1), start, 5)
    assert periods[0].ends_at == datetime(2001, 2, 28, tzinfo=UTC)
    assert periods[1] == Period(
        datetime(2001, 2, 28, tzinfo=UTC), datetime(2001, 3, 29, tzinfo=UTC), "included"
    )
    # Jan 31 + 1 complimentary + 12 included: a full 13 months, to the last of February
    jan31 = datetime(2027, 1, 31, tzinfo=UTC)
    assert coverage_end(initial_periods(plan(1, 12), jan31, 5)) == datetime(2028, 2, 29, tzinfo=UTC)


def _late_in_month(year: int, month: int, days_before_end: int) -> datetime:
    first_of_next = datetime(year + month // 12, month % 12 + 1, 1, 9, 30, tzinfo=UTC)
    return first_of_next - timedelta(days=days_before_end)


# Instants anywhere, and ones in the last days of a month, where calendar arithmetic clamps.
late_in_month = st.builds(
    _late_in_month, st.integers(2000, 2100), st.integers(1, 12), st.integers(1, 4)
)


@settings(max_examples=150, deadline=None)
@given(
    start=instants | late_in_month,
    complimentary=st.integers(0, 36),
    included=st.integers(0, 60),
)
@example(start=datetime(2000, 12, 29, tzinfo=UTC), complimentary=2, included=1)
def test_initial_periods_are_contiguous_and_sum_up(
    start: datetime, complimentary: int, included: int
) -> None:
    periods = initial_periods(plan(complimentary, included), start, 5)

    assert len(periods) == (complimentary > 0) + (included > 0)
    assert [p.source for p in periods] == (
        ["complimentary"] * (complimentary > 0) + ["included"] * (included > 0)
    )
    if not periods:
        assert coverage_end(periods) is None
        return
    assert periods[0].starts_at == start
    for p in periods:
        assert p.ends_at > p.starts_at
    for before, after in itertools.pairwise(periods):
        assert before.ends_at == after.starts_at  # contiguous, no gap, no overlap
    assert coverage_end(periods) == periods[-1].ends_at
    assert coverage_end(periods) == add_months(start, complimentary + included)
