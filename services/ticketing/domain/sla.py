"""SLA targets per support tier and pausable business-time timers.

A *timer* (first response, update or resolution) runs in the calendar's business time from
``started`` and is paused during the given pause spans (the ticket waits on the customer).
Its *due time* is the earliest instant at which the running, unpaused business time reaches
the target; it is *breached* at ``now`` when ``now`` is strictly after the due time (meeting
the target exactly at the due instant is on time).

Targets are whole business minutes. "One business day" is the calendar's
``business_day_minutes`` (780 for Mon-Fri 09:00-22:00), not "the same wall time on the next
business day": that keeps every target a plain duration, measurable across holidays and
pauses. With a uniform week both readings agree while the ticket opens inside business hours
(Friday 21:30 + 1 business day = Monday 21:30); for a ticket opened outside business hours
the clock starts at the next opening (Saturday -> Monday 09:00 + 13 h = Monday 22:00).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple

from entitle_events.ticketing import SupportTier

from .calendar import BusinessCalendar

SlaTarget = Literal["first_response", "update", "resolution"]
_MINUTE = timedelta(minutes=1)


class Pause(NamedTuple):
    """A span during which a timer does not run; ``end`` None: still paused."""

    start: datetime
    end: datetime | None


def business_hours(n: int) -> int:
    """``n`` business hours in minutes."""
    return n * 60


def business_days(n: int, calendar: BusinessCalendar) -> int:
    """``n`` business days in minutes: n times the calendar's `business_day_minutes`."""
    return n * calendar.business_day_minutes


@dataclass(frozen=True)
class WarningRule:
    """How long before a due time `ticket.sla-warning` goes out: `before` business minutes,
    or when a `share` of the target is left (0.25 of 180 minutes: 45 minutes before)."""

    before: int | None = None
    share: float | None = 0.25

    def lead(self, target: int) -> int:
        """Business minutes before the due time; 0: no warning (a zero target has none)."""
        if target <= 0:
            return 0
        if self.before is not None:
            return max(self.before, 0)
        if not self.share:
            return 0
        return max(round(target * self.share), 1)


@dataclass(frozen=True)
class SlaTargets:
    """Business-minute targets of one tier; None: no commitment for that timer.

    * first_response: from the ticket's opening (or a reopen before any answer) to the
      first agent message;
    * update: from a customer reply (or a reopen) to the next agent message; re-armed by
      every customer reply that follows an agent message;
    * resolution: from the opening (or a reopen) to solved.
    """

    first_response: int | None
    update: int | None = None
    resolution: int | None = None
    warning: WarningRule = WarningRule()

    def __post_init__(self) -> None:
        for name in ("first_response", "update", "resolution"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} target must not be negative, got {value}")

    def minutes(self, target: SlaTarget) -> int | None:
        value: int | None = getattr(self, target)
        return value


SlaPolicy = Mapping[SupportTier, SlaTargets]
TIERS_WITH_TICKETS: tuple[SupportTier, ...] = (
    "priority",
    "per_incident",
    "partner",
    "trial",
    "basic",
)


def default_sla_policy(calendar: BusinessCalendar) -> dict[SupportTier, SlaTargets]:
    """Targets from the seeds; the forum tier gets no tickets and so no targets.

    * priority: "latest within 1 business day" (seed 002); updates likewise.
    * per_incident: "initial response within three business hours" (seed 004); updates
      within one business day (the online reaction time).
    * trial, basic, partner: one business day (seed 004's online support).
    No seed promises a resolution time; Entitle's defaults are 5 business days (priority,
    partner, trial), 3 for a paid incident and 10 for basic email-only support.
    """
    day = business_days(1, calendar)
    return {
        "priority": SlaTargets(first_response=day, update=day, resolution=5 * day),
        "per_incident": SlaTargets(
            first_response=business_hours(3), update=day, resolution=3 * day
        ),
        "trial": SlaTargets(first_response=day, update=day, resolution=5 * day),
        "basic": SlaTargets(first_response=day, update=day, resolution=10 * day),
        "partner": SlaTargets(first_response=day, update=day, resolution=5 * day),
    }


def _utc(value: datetime, name: str) -> datetime:
    # Python compares/subtracts datetimes sharing a tzinfo by wall time: work in UTC.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value.astimezone(UTC)


def _running_segments(
    started: datetime, pauses: Sequence[tuple[datetime, datetime | None]]
) -> list[tuple[datetime, datetime | None]]:
    """[start, end) UTC spans in which the timer runs; end None: runs on forever.

    Pauses are sorted and merged when they overlap; parts before `started` are ignored;
    an open pause swallows everything after its start.
    """
    normalized: list[tuple[datetime, datetime | None]] = []
    for pause_start, pause_end in pauses:
        start = _utc(pause_start, "pause start")
        end = None if pause_end is None else _utc(pause_end, "pause end")
        if end is not None and end < start:
            raise ValueError(f"pause ends {pause_end} before it starts {pause_start}")
        normalized.append((start, end))
    segments: list[tuple[datetime, datetime | None]] = []
    cursor: datetime | None = _utc(started, "started")
    for pause_start, pause_end in sorted(normalized, key=lambda p: p[0]):
        if cursor is None:
            break
        if pause_end is not None and pause_end <= cursor:
            continue  # entirely before the timer's current position
        if pause_start > cursor:
            segments.append((cursor, pause_start))
        cursor = pause_end
    if cursor is not None:
        segments.append((cursor, None))
    return segments


def due_at(
    calendar: BusinessCalendar,
    started: datetime,
    target: int,
    pauses: Sequence[tuple[datetime, datetime | None]] = (),
) -> datetime | None:
    """When the timer reaches `target` business minutes, in `started`'s time zone.

    None while the timer is paused by an open pause (end None) and the target was not already
    reached before that pause began: the due time is unknown until the customer answers.
    """
    if target < 0:
        raise ValueError(f"target must not be negative, got {target}")
    remaining = target * _MINUTE
    for segment_start, segment_end in _running_segments(started, pauses):
        if segment_end is None:
            return calendar.add_business_time(segment_start, remaining).astimezone(started.tzinfo)
        available = calendar.business_time_between(segment_start, segment_end)
        if remaining <= available:
            return calendar.add_business_time(segment_start, remaining).astimezone(started.tzinfo)
        remaining -= available
    return None


def elapsed(
    calendar: BusinessCalendar,
    started: datetime,
    pauses: Sequence[tuple[datetime, datetime | None]],
    now: datetime,
) -> timedelta:
    """Business time the timer has run from `started` to `now` (zero when now < started)."""
    now = _utc(now, "now")
    total = timedelta(0)
    for segment_start, segment_end in _running_segments(started, pauses):
        end = now if segment_end is None else min(segment_end, now)
        if end > segment_start:
            total += calendar.business_time_between(segment_start, end)
    return total


def elapsed_minutes(
    calendar: BusinessCalendar,
    started: datetime,
    pauses: Sequence[tuple[datetime, datetime | None]],
    now: datetime,
) -> int:
    """`elapsed` in whole minutes (floor)."""
    return elapsed(calendar, started, pauses, now) // _MINUTE


def breached(
    calendar: BusinessCalendar,
    started: datetime,
    target: int,
    pauses: Sequence[tuple[datetime, datetime | None]],
    now: datetime,
) -> bool:
    """Whether the timer has overrun `target` at `now`: its due time lies strictly before now.

    A paused timer can be breached: when the target ran out before the pause began.
    """
    now = _utc(now, "now")
    due = due_at(calendar, started, target, pauses)
    return due is not None and now > due.astimezone(UTC)
