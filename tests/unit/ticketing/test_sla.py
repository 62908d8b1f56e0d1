"""SLA targets and pausable timers: the seed scenarios and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ticketing.domain.calendar import BusinessCalendar
from services.ticketing.domain.sla import (
    Pause,
    SlaTargets,
    breached,
    business_days,
    business_hours,
    default_sla_policy,
    due_at,
    elapsed,
    elapsed_minutes,
)

from .support import CAL, berlin, fast, instants, utc

POLICY = default_sla_policy(CAL)
DAY = 780  # POLICY["priority"].first_response, checked below
INCIDENT = 180  # POLICY["per_incident"].first_response


def test_targets_of_the_default_policy() -> None:
    assert business_days(1, CAL) == 780
    assert business_hours(3) == 180
    assert POLICY["priority"].first_response == DAY
    assert POLICY["per_incident"].first_response == INCIDENT
    assert POLICY["basic"].first_response == POLICY["trial"].first_response == 780
    assert POLICY["partner"].minutes("update") == 780
    # Resolution: Entitle's defaults (no seed promises one), in business days.
    assert [POLICY[t].minutes("resolution") for t in ("priority", "per_incident", "basic")] == [
        5 * DAY,
        3 * DAY,
        10 * DAY,
    ]
    assert POLICY["trial"].resolution == POLICY["partner"].resolution == 5 * DAY
    assert POLICY["priority"].warning.lead(DAY) == 195  # a quarter of the target left
    assert "forum" not in POLICY
    short_week = BusinessCalendar("UTC", {0: ["09:00-17:00"]})
    assert default_sla_policy(short_week)["priority"].first_response == 480


def test_negative_targets_are_rejected() -> None:
    with pytest.raises(ValueError):
        SlaTargets(first_response=-1)
    with pytest.raises(ValueError):
        due_at(CAL, berlin(2026, 1, 5, 10), -5)


# -- seed scenarios (Mon-Fri 09:00-22:00 Europe/Berlin) ---------------------------------------


def test_friday_2130_plus_one_business_day_is_due_monday_2130() -> None:
    assert due_at(CAL, berlin(2026, 1, 16, 21, 30), DAY) == berlin(2026, 1, 19, 21, 30)


def test_per_incident_monday_2000_is_due_tuesday_1000() -> None:
    assert due_at(CAL, berlin(2026, 1, 19, 20), INCIDENT) == berlin(2026, 1, 20, 10)


def test_ticket_opened_saturday_is_measured_from_monday_0900() -> None:
    saturday = berlin(2026, 1, 17, 10, 45)
    assert due_at(CAL, saturday, INCIDENT) == berlin(2026, 1, 19, 12)
    assert due_at(CAL, saturday, DAY) == berlin(2026, 1, 19, 22)
    assert elapsed_minutes(CAL, saturday, [], berlin(2026, 1, 19, 9)) == 0
    assert elapsed_minutes(CAL, saturday, [], berlin(2026, 1, 19, 9, 30)) == 30


def test_easter_2026_is_skipped() -> None:
    assert due_at(CAL, berlin(2026, 4, 2, 21, 30), DAY) == berlin(2026, 4, 7, 21, 30)
    assert due_at(CAL, berlin(2026, 4, 2, 20), INCIDENT) == berlin(2026, 4, 7, 10)
    assert due_at(CAL, berlin(2026, 4, 4, 12), INCIDENT) == berlin(2026, 4, 7, 12)


@pytest.mark.parametrize(
    ("opened", "due"),
    [
        (berlin(2026, 3, 27, 21, 30), berlin(2026, 3, 30, 21, 30)),  # spring forward weekend
        (berlin(2026, 10, 23, 21, 30), berlin(2026, 10, 26, 21, 30)),  # fall back weekend
        (berlin(2026, 3, 26, 12), berlin(2026, 3, 27, 12)),
        (berlin(2026, 10, 22, 12), berlin(2026, 10, 23, 12)),
    ],
)
def test_dst_weeks_are_right(opened: datetime, due: datetime) -> None:
    result = due_at(CAL, opened, DAY)
    assert result == due
    assert result is not None and result.utcoffset() == due.utcoffset()


def test_pending_time_pauses_the_timer() -> None:
    opened = berlin(2026, 1, 19, 10)  # Monday
    pauses = [Pause(berlin(2026, 1, 19, 12), berlin(2026, 1, 20, 12))]
    # 2 h run on Monday, paused until Tuesday 12:00, 1 h more.
    assert due_at(CAL, opened, INCIDENT, pauses) == berlin(2026, 1, 20, 13)
    assert not breached(CAL, opened, INCIDENT, pauses, berlin(2026, 1, 20, 12, 59))
    assert not breached(CAL, opened, INCIDENT, pauses, berlin(2026, 1, 20, 13))
    assert breached(CAL, opened, INCIDENT, pauses, berlin(2026, 1, 20, 13, 1))
    assert elapsed_minutes(CAL, opened, pauses, berlin(2026, 1, 20, 12, 30)) == 150


def test_an_open_pause_stops_the_clock() -> None:
    opened = berlin(2026, 1, 19, 10)
    waiting = [Pause(berlin(2026, 1, 19, 11), None)]
    assert due_at(CAL, opened, INCIDENT, waiting) is None
    assert not breached(CAL, opened, INCIDENT, waiting, berlin(2026, 3, 1))
    assert elapsed_minutes(CAL, opened, waiting, berlin(2026, 3, 1)) == 60
    # ... unless the target had already run out before the pause began.
    late = [Pause(berlin(2026, 1, 19, 14), None)]
    assert due_at(CAL, opened, INCIDENT, late) == berlin(2026, 1, 19, 13)
    assert breached(CAL, opened, INCIDENT, late, berlin(2026, 1, 19, 14))


def test_pauses_are_merged_clipped_and_validated() -> None:
    opened = berlin(2026, 1, 19, 10)
    overlapping = [
        Pause(berlin(2026, 1, 19, 11), berlin(2026, 1, 19, 13)),
        Pause(berlin(2026, 1, 19, 12), berlin(2026, 1, 19, 14)),
        Pause(berlin(2026, 1, 18, 12), berlin(2026, 1, 18, 13)),  # before the timer started
        Pause(berlin(2026, 1, 19, 9), berlin(2026, 1, 19, 10, 30)),  # straddles the start
    ]
    # runs 10:30-11:00 and 14:00-16:30
    assert due_at(CAL, opened, INCIDENT, overlapping) == berlin(2026, 1, 19, 16, 30)
    with pytest.raises(ValueError, match="before it starts"):
        due_at(CAL, opened, INCIDENT, [Pause(berlin(2026, 1, 19, 12), berlin(2026, 1, 19, 11))])
    with pytest.raises(ValueError, match="timezone-aware"):
        due_at(CAL, datetime(2026, 1, 19, 10), INCIDENT)


def test_pauses_outside_business_hours_change_nothing() -> None:
    opened = berlin(2026, 1, 16, 21, 30)
    weekend = [Pause(berlin(2026, 1, 16, 22), berlin(2026, 1, 19, 9))]
    assert due_at(CAL, opened, DAY, weekend) == due_at(CAL, opened, DAY)


def test_results_are_in_the_start_time_zone() -> None:
    opened = datetime(2026, 1, 19, 19, tzinfo=UTC)  # 20:00 Berlin
    due = due_at(CAL, opened, INCIDENT)
    assert due is not None and due.tzinfo is UTC
    assert due == berlin(2026, 1, 20, 10)


def test_elapsed_before_the_start_is_zero() -> None:
    assert elapsed(CAL, berlin(2026, 1, 19, 10), [], berlin(2026, 1, 19, 9)) == timedelta(0)


# -- properties ------------------------------------------------------------------------------


@st.composite
def closed_pauses(draw: st.DrawFn, started: datetime) -> list[Pause]:
    pauses = []
    for _ in range(draw(st.integers(0, 3))):
        start = utc(started) + timedelta(minutes=draw(st.integers(-600, 20_000)))
        pauses.append(Pause(start, start + timedelta(minutes=draw(st.integers(0, 5_000)))))
    return pauses


@fast
@given(data=st.data(), started=instants(), target=st.integers(0, 3_000))
def test_due_is_the_first_instant_the_running_time_reaches_the_target(
    data: st.DataObject, started: datetime, target: int
) -> None:
    pauses = data.draw(closed_pauses(started))
    due = due_at(CAL, started, target, pauses)
    assert due is not None
    assert elapsed(CAL, started, pauses, due) == timedelta(minutes=target)
    assert not breached(CAL, started, target, pauses, due)
    assert breached(CAL, started, target, pauses, utc(due) + timedelta(seconds=1))
    if target:
        earlier = utc(due) - timedelta(seconds=1)
        assert elapsed(CAL, started, pauses, earlier) < timedelta(minutes=target)
    # Pausing never makes anything due earlier.
    unpaused = due_at(CAL, started, target)
    assert unpaused is not None and utc(unpaused) <= utc(due)


@fast
@given(started=instants(), target=st.integers(0, 10_000))
def test_without_pauses_due_is_adding_business_minutes(started: datetime, target: int) -> None:
    assert due_at(CAL, started, target) == CAL.add_business_minutes(started, target)
