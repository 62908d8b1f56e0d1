"""Business calendar: construction rules, scenarios (weekends, Easter, DST) and properties."""

from __future__ import annotations

import time as wallclock
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from services.ticketing.domain.calendar import BusinessCalendar, Interval, default_calendar

from .support import BERLIN, CAL, FALL_BACK, SPRING_FORWARD, berlin, fast, instants, utc

H = timedelta(hours=1)

# -- construction ---------------------------------------------------------------------------


def test_interval_parsing() -> None:
    assert Interval.parse("09:00-22:00") == Interval(9 * 60, 22 * 60)
    assert Interval.of(time(9), time(12, 30)).minutes == 210
    assert Interval.parse("18:00-24:00").end == 1440
    assert str(Interval.parse("9:05-17:00")) == "09:05-17:00"


@pytest.mark.parametrize("text", ["22:00-02:00", "23:59-00:01"])
def test_interval_spanning_midnight_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="spans midnight"):
        Interval.parse(text)


@pytest.mark.parametrize("text", ["10:00-10:00", "24:00-24:00", "09:00", "9-17", "25:00-26:00"])
def test_malformed_intervals_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        Interval.parse(text)


def test_interval_of_rejects_seconds_and_a_time_midnight_end() -> None:
    with pytest.raises(ValueError):
        Interval.of(time(9, 0, 30), time(10))
    with pytest.raises(ValueError, match="spans midnight"):
        Interval.of(time(18), time(0))  # the end of the day is written "24:00"


def test_overlapping_intervals_are_rejected_touching_ones_allowed() -> None:
    with pytest.raises(ValueError, match="overlap"):
        BusinessCalendar("UTC", {0: ["09:00-13:00", "12:00-18:00"]})
    touching = BusinessCalendar("UTC", {0: ["13:00-18:00", "09:00-13:00"]})
    assert touching.week[0] == (Interval.parse("09:00-13:00"), Interval.parse("13:00-18:00"))
    monday = datetime(2026, 1, 5, 12, 30, tzinfo=UTC)
    assert touching.add_business_minutes(monday, 60) == monday + H


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"week": {}}, "no business hours"),
        ({"week": {7: ["09:00-17:00"]}}, "weekday"),
        ({"country": "XX"}, "holidays"),
        ({"country": "DE", "subdivision": "ZZ"}, "holidays"),
        ({"subdivision": "BE"}, "needs a country"),
        ({"business_day_minutes": 0}, "positive"),
        (
            {
                "extra_holidays": [date(2026, 6, 6)],
                "extra_working_days": {date(2026, 6, 6): ["10:00-14:00"]},
            },
            "both",
        ),
        ({"extra_working_days": {date(2026, 6, 6): []}}, "no intervals"),
    ],
)
def test_invalid_calendars_are_rejected(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"timezone": "Europe/Berlin", "week": {0: ["09:00-17:00"]}}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(**args)  # type: ignore[arg-type]


def test_naive_and_negative_inputs_are_rejected() -> None:
    naive = datetime(2026, 1, 5, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add_business_minutes(naive, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.business_minutes_between(naive, berlin(2026, 1, 6))
    with pytest.raises(ValueError, match="negative"):
        CAL.add_business_minutes(berlin(2026, 1, 5, 10), -1)
    with pytest.raises(ValueError, match="before"):
        CAL.business_minutes_between(berlin(2026, 1, 6), berlin(2026, 1, 5))


def test_default_calendar() -> None:
    assert CAL.timezone == "Europe/Berlin"
    assert CAL.business_day_minutes == 13 * 60
    assert [len(day) for day in CAL.week] == [1, 1, 1, 1, 1, 0, 0]
    assert "Europe/Berlin" in repr(CAL)


def test_business_day_minutes_is_the_longest_weekday_unless_configured() -> None:
    week = {0: ["09:00-17:00"], 5: ["10:00-12:00", "13:00-20:00"]}
    assert BusinessCalendar("UTC", week).business_day_minutes == 9 * 60
    assert BusinessCalendar("UTC", week, business_day_minutes=480).business_day_minutes == 480


# -- scenarios -------------------------------------------------------------------------------


def test_friday_evening_plus_one_business_day_is_monday_same_time() -> None:
    assert CAL.add_business_minutes(berlin(2026, 1, 16, 21, 30), 780) == berlin(2026, 1, 19, 21, 30)


def test_monday_evening_plus_three_business_hours_is_tuesday_ten() -> None:
    assert CAL.add_business_minutes(berlin(2026, 1, 19, 20), 180) == berlin(2026, 1, 20, 10)


def test_saturday_is_measured_from_monday_opening() -> None:
    saturday = berlin(2026, 1, 17, 11, 15)
    assert not CAL.is_open(saturday)
    assert CAL.next_opening(saturday) == berlin(2026, 1, 19, 9)
    assert CAL.business_minutes_between(saturday, berlin(2026, 1, 19, 9)) == 0
    assert CAL.add_business_minutes(saturday, 1) == berlin(2026, 1, 19, 9, 1)
    assert CAL.add_business_minutes(saturday, 0) == saturday


def test_running_out_at_closing_time_is_due_at_closing_not_next_opening() -> None:
    assert CAL.add_business_minutes(berlin(2026, 1, 16, 21, 30), 30) == berlin(2026, 1, 16, 22)
    assert CAL.add_business_minutes(berlin(2026, 1, 16, 21, 30), 31) == berlin(2026, 1, 19, 9, 1)


def test_opening_is_inside_closing_is_outside() -> None:
    assert CAL.is_open(berlin(2026, 1, 19, 9))
    assert not CAL.is_open(berlin(2026, 1, 19, 22))
    assert CAL.next_opening(berlin(2026, 1, 19, 22)) == berlin(2026, 1, 20, 9)
    assert CAL.next_opening(berlin(2026, 1, 19, 12)) == berlin(2026, 1, 19, 12)


def test_easter_2026_is_skipped() -> None:
    assert CAL.is_holiday(date(2026, 4, 3))  # Good Friday
    assert CAL.is_holiday(date(2026, 4, 6))  # Easter Monday
    assert CAL.intervals_on(date(2026, 4, 3)) == ()
    thursday = berlin(2026, 4, 2, 21, 30)
    assert CAL.add_business_minutes(thursday, 780) == berlin(2026, 4, 7, 21, 30)
    assert CAL.business_minutes_between(berlin(2026, 4, 2, 22), berlin(2026, 4, 7, 9)) == 0
    assert CAL.add_business_minutes(berlin(2026, 4, 3, 10), 180) == berlin(2026, 4, 7, 12)


def test_subdivision_holidays_and_extra_days() -> None:
    week = dict.fromkeys(range(5), ("09:00-22:00",))
    womens_day = date(2027, 3, 8)  # a Monday; a holiday in Berlin only
    assert not CAL.is_holiday(womens_day)
    berlin_state = BusinessCalendar("Europe/Berlin", week, country="DE", subdivision="BE")
    assert berlin_state.is_holiday(womens_day)

    christmas_eve = date(2026, 12, 24)  # Thursday, not a public holiday
    saturday = date(2026, 12, 19)
    custom = BusinessCalendar(
        "Europe/Berlin",
        week,
        country="DE",
        extra_holidays=[date(2026, 12, 31)],
        extra_working_days={christmas_eve: ["09:00-14:00"], saturday: ["10:00-12:00"]},
    )
    assert custom.is_holiday(date(2026, 12, 31))
    assert custom.intervals_on(christmas_eve) == (Interval.parse("09:00-14:00"),)
    assert custom.business_minutes_between(berlin(2026, 12, 19), berlin(2026, 12, 20)) == 120
    assert custom.add_business_minutes(berlin(2026, 12, 24, 13), 120) == berlin(2026, 12, 28, 10)
    # An extra working day overrides a public holiday too.
    boxing_day = date(2026, 12, 28)
    on_duty = BusinessCalendar(
        "Europe/Berlin",
        week,
        country="DE",
        extra_working_days={date(2026, 12, 25): ["10:00-11:00"]},
    )
    assert not on_duty.is_holiday(date(2026, 12, 25))
    assert on_duty.business_minutes_between(berlin(2026, 12, 24, 22), berlin(2026, 12, 28)) == 60
    assert on_duty.intervals_on(boxing_day) == (Interval.parse("09:00-22:00"),)


@pytest.mark.parametrize("day", [SPRING_FORWARD, FALL_BACK])
def test_dst_week_business_days_are_thirteen_real_hours(day: date) -> None:
    friday, monday = day - timedelta(days=2), day + timedelta(days=1)
    for d in (friday, monday):
        opening = datetime.combine(d, time(9), tzinfo=BERLIN)
        closing = datetime.combine(d, time(22), tzinfo=BERLIN)
        assert CAL.business_time_between(opening, closing) == 13 * H
        assert CAL.spans_on(d)[0][1] - CAL.spans_on(d)[0][0] == 13 * H
    start = datetime.combine(friday, time(21, 30), tzinfo=BERLIN)
    due = CAL.add_business_minutes(start, 780)
    assert due == datetime.combine(monday, time(21, 30), tzinfo=BERLIN)
    # Real time between them is three days minus/plus the hour the clocks moved.
    shift = H if day == SPRING_FORWARD else -H
    assert due.astimezone(UTC) - start.astimezone(UTC) == timedelta(days=3) - shift


def test_interval_containing_the_transition_counts_real_time() -> None:
    night = BusinessCalendar("Europe/Berlin", {6: ["00:00-06:00"]})
    assert night.business_time_between(berlin(2026, 3, 29), berlin(2026, 3, 30)) == 5 * H
    assert night.business_time_between(berlin(2026, 10, 25), berlin(2026, 10, 26)) == 7 * H
    assert night.business_time_between(berlin(2026, 11, 1), berlin(2026, 11, 2)) == 6 * H
    assert night.add_business_minutes(berlin(2026, 3, 29), 300) == berlin(2026, 3, 29, 6)
    assert night.add_business_minutes(berlin(2026, 10, 25), 420) == berlin(2026, 10, 25, 6)


def test_boundaries_inside_a_dst_gap_move_to_the_jump() -> None:
    cal = BusinessCalendar("Europe/Berlin", {6: ["02:00-02:15", "02:30-06:00"]})
    (span,) = cal.spans_on(SPRING_FORWARD)  # 02:00-02:15 never happens that night
    assert span == (datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 3, 29, 4, tzinfo=UTC))
    # A repeated wall time maps to its first occurrence.
    first, second = cal.spans_on(FALL_BACK)
    assert first == (
        datetime(2026, 10, 25, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 15, tzinfo=UTC),
    )
    assert second[0] == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_end_of_day_intervals_chain_into_the_next_day() -> None:
    cal = BusinessCalendar("Europe/Berlin", {4: ["18:00-24:00"], 5: ["00:00-02:00"]})
    friday = berlin(2026, 1, 16, 23)
    assert cal.add_business_minutes(friday, 120) == berlin(2026, 1, 17, 1)
    assert cal.business_minutes_between(berlin(2026, 1, 16), berlin(2026, 1, 18)) == 8 * 60


def test_results_keep_the_input_time_zone() -> None:
    start_utc = datetime(2026, 1, 16, 20, 30, tzinfo=UTC)  # Friday 21:30 in Berlin
    due = CAL.add_business_minutes(start_utc, 780)
    assert due.tzinfo is UTC
    assert due == berlin(2026, 1, 19, 21, 30)
    tokyo = ZoneInfo("Asia/Tokyo")
    assert CAL.next_opening(start_utc.astimezone(tokyo)).tzinfo is tokyo


def test_seconds_are_kept_and_minutes_are_floored() -> None:
    start = berlin(2026, 1, 16, 21, 59) + timedelta(seconds=30)
    due = CAL.add_business_minutes(start, 1)
    assert due == berlin(2026, 1, 19, 9) + timedelta(seconds=30)
    assert CAL.business_minutes_between(start, due) == 1
    assert CAL.business_minutes_between(start, due - timedelta(seconds=1)) == 0


def test_long_targets_are_fast() -> None:
    began = wallclock.perf_counter()
    start = berlin(2026, 1, 2, 9)
    far = CAL.add_business_minutes(start, 10_000)
    year = CAL.add_business_minutes(start, 250 * 780)
    assert CAL.business_minutes_between(start, far) == 10_000
    assert CAL.business_minutes_between(start, year) == 250 * 780
    assert wallclock.perf_counter() - began < 0.5


def test_a_calendar_without_reachable_hours_fails_instead_of_looping() -> None:
    closed = BusinessCalendar(
        "UTC",
        {0: ["09:00-10:00"]},
        extra_holidays=[date(2026, 1, 5) + timedelta(weeks=n) for n in range(120)],
    )
    with pytest.raises(ValueError, match="no business hours"):
        closed.add_business_minutes(datetime(2026, 1, 1, tzinfo=UTC), 1)


# -- properties -------------------------------------------------------------------------------

minutes = st.integers(min_value=0, max_value=10_000)


@fast
@given(start=instants(), m=minutes)
def test_adding_then_measuring_returns_the_input(start: datetime, m: int) -> None:
    assert CAL.business_minutes_between(start, CAL.add_business_minutes(start, m)) == m


@fast
@given(start=instants(), m=st.integers(min_value=1, max_value=10_000))
def test_result_is_inside_business_hours_or_at_a_closing(start: datetime, m: int) -> None:
    due = CAL.add_business_minutes(start, m)
    assert utc(due) > utc(start)
    just_before = utc(due) - timedelta(seconds=1)
    assert CAL.is_open(just_before)  # the last second counted was business time


@fast
@given(start=instants(), a=minutes, b=minutes)
def test_adding_is_monotonic_and_composes(start: datetime, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert utc(CAL.add_business_minutes(start, low)) <= utc(CAL.add_business_minutes(start, high))
    composed = CAL.add_business_minutes(CAL.add_business_minutes(start, a), b)
    assert utc(composed) == utc(CAL.add_business_minutes(start, a + b))


@fast
@given(a=instants(), b=instants(), c=instants())
def test_measuring_is_additive_and_monotonic(a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c), key=utc)
    ab, bc, ac = (
        CAL.business_time_between(a, b),
        CAL.business_time_between(b, c),
        CAL.business_time_between(a, c),
    )
    assert ab + bc == ac
    assert ab <= ac
    assert timedelta(0) <= ab <= utc(b) - utc(a)


@fast
@given(start=instants(), end=instants())
def test_measuring_then_adding_never_overshoots(start: datetime, end: datetime) -> None:
    start, end = sorted((start, end), key=utc)
    back = CAL.add_business_time(start, CAL.business_time_between(start, end))
    assert utc(start) <= utc(back) <= utc(end)
    assert CAL.business_time_between(back, end) == timedelta(0)
    if CAL.is_open(end) and CAL.business_time_between(start, end):
        assert utc(back) == utc(end)


closed_days = st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)).filter(
    lambda d: d.weekday() >= 5 or CAL.is_holiday(d)
)


@fast
@given(day=closed_days)
def test_weekends_and_holidays_contribute_zero(day: date) -> None:
    midnight = datetime.combine(day, time(), tzinfo=BERLIN)
    assert CAL.business_time_between(midnight, midnight + timedelta(days=1)) == timedelta(0)
    assert CAL.spans_on(day) == ()


@fast
@given(day=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)))
def test_every_working_day_is_thirteen_hours(day: date) -> None:
    assume(day.weekday() < 5 and not CAL.is_holiday(day))
    start = datetime.combine(day, time(), tzinfo=BERLIN)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=BERLIN)
    assert CAL.business_minutes_between(start, end) == 780


ALWAYS_OPEN = {
    name: BusinessCalendar(name, dict.fromkeys(range(7), ("00:00-24:00",)))
    for name in ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe")
}


@fast
@given(
    zone=st.sampled_from(sorted(ALWAYS_OPEN)),
    a=instants(),
    b=instants(),
    m=minutes,
)
def test_an_always_open_calendar_is_real_time_across_dst(
    zone: str, a: datetime, b: datetime, m: int
) -> None:
    cal = ALWAYS_OPEN[zone]
    a, b = sorted((a, b), key=utc)
    # Python subtracts/adds wall time when both sides share a tzinfo: compare in UTC.
    real = utc(b) - utc(a)
    assert cal.business_time_between(a, b) == real
    # (`==` across zones is always False for a time in a repeated hour, PEP 495: use UTC.)
    assert utc(cal.add_business_minutes(a, m)) == utc(a) + timedelta(minutes=m)


@st.composite
def random_calendars(draw: st.DrawFn) -> BusinessCalendar:
    """Random weeks with up to two whole-hour intervals per day, in zones with DST."""
    week: dict[int, list[Interval]] = {}
    for weekday in range(7):
        hours = sorted(draw(st.sets(st.integers(0, 24), max_size=4)))
        pairs = [(s, e) for s, e in zip(hours[::2], hours[1::2], strict=False) if s < e]
        if pairs:
            week[weekday] = [Interval(s * 60, e * 60) for s, e in pairs]
    assume(week)
    zone = draw(st.sampled_from(["Europe/Berlin", "America/New_York"]))
    country = "DE" if zone == "Europe/Berlin" else "US"
    return BusinessCalendar(zone, week, country=draw(st.sampled_from([None, country])))


def brute_force_minutes(cal: BusinessCalendar, a: datetime, b: datetime) -> int:
    """Oracle: count whole UTC minutes whose local wall time is scheduled on its local date."""
    count = 0
    minute = a
    while minute < b:
        wall = minute.astimezone(cal.tz)
        of_day = wall.hour * 60 + wall.minute
        if any(i.start <= of_day < i.end for i in cal.intervals_on(wall.date())):
            count += 1
        minute += timedelta(minutes=1)
    return count


@fast
@given(
    cal=random_calendars(),
    day=st.sampled_from(
        [SPRING_FORWARD, FALL_BACK, date(2026, 3, 8), date(2026, 11, 1), date(2026, 4, 3)]
    ),
    offset=st.integers(min_value=-36 * 60, max_value=12 * 60),
    length=st.integers(min_value=0, max_value=36 * 60),
)
def test_random_calendars_match_a_minute_by_minute_oracle(
    cal: BusinessCalendar, day: date, offset: int, length: int
) -> None:
    # Whole-hour boundaries and whole-minute instants: the oracle's wall-clock reading and
    # the calendar's "first instant the clock shows the time" rule agree exactly.
    a = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(minutes=offset)
    b = a + timedelta(minutes=length)
    expected = brute_force_minutes(cal, a, b)
    assert cal.business_minutes_between(a, b) == expected
    due = cal.add_business_minutes(a, expected)
    assert due <= b
    assert cal.business_minutes_between(a, due) == expected


def test_default_calendar_factory_returns_equal_behaviour() -> None:
    assert default_calendar().add_business_minutes(
        berlin(2026, 1, 19, 20), 180
    ) == CAL.add_business_minutes(berlin(2026, 1, 19, 20), 180)
