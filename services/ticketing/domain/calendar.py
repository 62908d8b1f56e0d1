"""Business-hours calendar: weekly intervals, holidays and an IANA time zone.

Why this is hand-written: no maintained Python library combines several intervals per
weekday, a holiday feed, DST-correct real durations and "add N business minutes"
(businesstimedelta is unmaintained; pandas' CustomBusinessHour works on wall-clock time and
whole hours). The holiday feed comes from the `holidays` package and the time zone rules from
`zoneinfo`; only the interval arithmetic lives here.

Semantics
---------
* **Business time is a set of real instants.** For every local date D and every interval
  [open, close) scheduled on D, business time runs from ``f(D open)`` to ``f(D close)``, where
  ``f(X)`` is *the first instant at which the zone's wall clock shows X or later*:

  - an ordinary wall time maps to its single instant;
  - a wall time inside a DST gap (2026-03-29 02:30 never happens in Berlin) maps to the
    instant the clock jumps (03:00 CEST);
  - a repeated wall time (2026-10-25 02:30 happens twice) maps to its first occurrence.

  So 09:00-22:00 lasts 13 real hours on a DST day, while an interval that contains the
  transition lasts the real elapsed time (00:00-06:00 is 5 h on 2026-03-29, 7 h on
  2026-10-25).
* **Durations are real elapsed time** inside business time. Sub-minute parts of the inputs
  are kept exactly; the ``*_minutes`` functions count whole minutes (floor).
* **Schedule of a date**: an explicit extra working day's own intervals; else nothing on a
  holiday (an explicit extra holiday or one from the `holidays` package for the configured
  country/subdivision); else the weekday's intervals.
* **Outside business hours the clock waits**: measuring from an instant outside business
  hours counts nothing until the next opening, so adding N > 0 minutes to Saturday 10:00
  gives Monday opening + N. Adding 0 returns the start unchanged.
* **Results** are aware datetimes in the time zone of the datetime passed in (``start``),
  never naive. Naive inputs are rejected with ``ValueError``.
* **Efficiency**: the arithmetic steps over whole intervals and days (each day's real spans
  are computed once and cached), never minute by minute; 10,000 business minutes on a
  Mon-Fri 13 h calendar is about 15 day steps.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

MINUTES_PER_DAY = 24 * 60
_MINUTE = timedelta(minutes=1)
_ONE_DAY = timedelta(days=1)
# Consecutive days without any business time before `add_business_time` gives up: only a
# calendar whose extra holidays cover years can get there.
_MAX_IDLE_DAYS = 2 * 366
_SPAN_CACHE_LIMIT = 8192
_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")

Span = tuple[datetime, datetime]
"""A real, UTC-aware half-open span [start, end) of business time."""


def _parse_hhmm(text: str) -> int:
    match = _HHMM.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time of day HH:MM")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes >= 60 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"{text!r} is not a time of day between 00:00 and 24:00")
    return hours * 60 + minutes


def _minute_of_day(value: time | str) -> int:
    if isinstance(value, str):
        return _parse_hhmm(value)
    if value.second or value.microsecond:
        raise ValueError(f"{value} is not a whole minute")
    return value.hour * 60 + value.minute


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass(frozen=True, order=True)
class Interval:
    """Working hours [start, end) of one day, as minutes after local midnight.

    ``end`` may be 1440 (``"24:00"``, the end of the day). An interval never spans midnight:
    ``22:00-02:00`` raises ``ValueError`` at construction; write it as ``22:00-24:00`` on one
    weekday and ``00:00-02:00`` on the next. Empty intervals (start == end) are rejected too.
    """

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < MINUTES_PER_DAY or not 0 <= self.end <= MINUTES_PER_DAY:
            raise ValueError(f"interval {self.start}-{self.end} is outside 00:00-24:00")
        if self.end < self.start:
            raise ValueError(
                f"interval {_hhmm(self.start)}-{_hhmm(self.end)} spans midnight; split it into "
                f"{_hhmm(self.start)}-24:00 and 00:00-{_hhmm(self.end)} of the next day"
            )
        if self.end == self.start:
            raise ValueError(f"interval {_hhmm(self.start)}-{_hhmm(self.end)} is empty")

    @classmethod
    def of(cls, start: time | str, end: time | str) -> Interval:
        """From two times of day; only the string ``"24:00"`` can name the end of the day."""
        return cls(_minute_of_day(start), _minute_of_day(end))

    @classmethod
    def parse(cls, text: str) -> Interval:
        """From ``"09:00-22:00"``."""
        start, sep, end = text.partition("-")
        if not sep:
            raise ValueError(f"{text!r} is not an interval HH:MM-HH:MM")
        return cls.of(start, end)

    @property
    def minutes(self) -> int:
        return self.end - self.start

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"


IntervalLike = Interval | str


def _intervals(values: Iterable[IntervalLike], where: str) -> tuple[Interval, ...]:
    if isinstance(values, str | Interval):
        values = [values]
    parsed = sorted(v if isinstance(v, Interval) else Interval.parse(v) for v in values)
    for before, after in itertools.pairwise(parsed):
        if after.start < before.end:
            raise ValueError(f"{where}: intervals {before} and {after} overlap")
    return tuple(parsed)


@functools.lru_cache(maxsize=512)
def _country_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


def _utc(value: datetime, name: str) -> datetime:
    """`value` as UTC. Arithmetic and comparisons of two datetimes sharing a tzinfo use wall
    time in Python, so everything inside this module runs on UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value.astimezone(UTC)


class BusinessCalendar:
    """Business hours of a support team. Immutable once built.

    Args:
        timezone: IANA zone name, e.g. ``"Europe/Berlin"``.
        week: intervals per weekday, keys 0 (Monday) .. 6 (Sunday); missing days are closed.
            Values are `Interval`s or ``"HH:MM-HH:MM"`` strings. Overlapping intervals of one
            day raise ``ValueError``; touching ones (12:00-13:00, 13:00-18:00) are fine.
        country, subdivision: holidays of the `holidays` package, e.g. ``"DE"``, ``"BE"``.
        extra_holidays: more closed dates (company holidays).
        extra_working_days: dates that work with their own intervals, overriding both the
            weekday and any holiday (a Saturday on duty, a short Christmas Eve).
        business_day_minutes: length of "one business day" for SLA targets; by default the
            longest scheduled weekday (780 for Mon-Fri 09:00-22:00).

    Raises ``ValueError`` for an unknown zone/country/subdivision, a week without any
    business hours, a date that is both an extra holiday and an extra working day, and the
    interval errors above.
    """

    def __init__(
        self,
        timezone: str,
        week: Mapping[int, Iterable[IntervalLike]],
        *,
        country: str | None = None,
        subdivision: str | None = None,
        extra_holidays: Iterable[date] = (),
        extra_working_days: Mapping[date, Iterable[IntervalLike]] | None = None,
        business_day_minutes: int | None = None,
    ) -> None:
        try:
            self._tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {timezone!r}") from exc
        self._timezone = timezone

        days: list[tuple[Interval, ...]] = [() for _ in range(7)]
        for weekday, values in week.items():
            if weekday not in range(7):
                raise ValueError(f"weekday {weekday!r} is not 0 (Monday) .. 6 (Sunday)")
            days[weekday] = _intervals(values, f"weekday {weekday}")
        if not any(days):
            raise ValueError("the week has no business hours")
        self._week = tuple(days)

        if subdivision is not None and country is None:
            raise ValueError("a holiday subdivision needs a country")
        if country is not None:
            try:
                holidays.country_holidays(country, subdiv=subdivision)
            except NotImplementedError as exc:
                raise ValueError(f"no holidays for {country}/{subdivision}: {exc}") from exc
        self._country = country
        self._subdivision = subdivision

        self._extra_holidays = frozenset(extra_holidays)
        self._extra_working_days = {
            day: _intervals(values, f"extra working day {day}")
            for day, values in (extra_working_days or {}).items()
        }
        for day, intervals in self._extra_working_days.items():
            if not intervals:
                raise ValueError(f"extra working day {day} has no intervals")
        clash = self._extra_holidays & self._extra_working_days.keys()
        if clash:
            raise ValueError(f"dates both holiday and working day: {sorted(clash)}")

        longest = max(sum(i.minutes for i in day) for day in self._week)
        if business_day_minutes is not None and business_day_minutes <= 0:
            raise ValueError("business_day_minutes must be positive")
        self._day_minutes = business_day_minutes or longest
        self._spans: dict[date, tuple[Span, ...]] = {}

    # -- configuration ------------------------------------------------------------------

    @property
    def timezone(self) -> str:
        return self._timezone

    @property
    def tz(self) -> ZoneInfo:
        return self._tz

    @property
    def week(self) -> tuple[tuple[Interval, ...], ...]:
        """Intervals of Monday .. Sunday."""
        return self._week

    @property
    def business_day_minutes(self) -> int:
        """Length of one business day in minutes (see the constructor)."""
        return self._day_minutes

    def __repr__(self) -> str:
        week = {d: [str(i) for i in v] for d, v in enumerate(self._week) if v}
        return (
            f"BusinessCalendar({self._timezone!r}, {week}, country={self._country!r}, "
            f"subdivision={self._subdivision!r})"
        )

    def is_holiday(self, day: date) -> bool:
        """Whether a local date is a holiday (an extra working day never is)."""
        if day in self._extra_working_days:
            return False
        if day in self._extra_holidays:
            return True
        if self._country is None:
            return False
        return day in _country_holidays(self._country, self._subdivision, day.year)

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        """The wall-clock working hours of a local date."""
        extra = self._extra_working_days.get(day)
        if extra is not None:
            return extra
        if self.is_holiday(day):
            return ()
        return self._week[day.weekday()]

    # -- real time ----------------------------------------------------------------------

    def _wall(self, instant: datetime) -> datetime:
        return instant.astimezone(self._tz).replace(tzinfo=None)

    def _first_instant(self, wall: datetime) -> datetime:
        """f(X): the first UTC instant at which the local wall clock shows `wall` or later."""
        first = wall.replace(tzinfo=self._tz, fold=0).astimezone(UTC)
        if self._wall(first) == wall:
            return first  # exists; for a repeated time fold=0 is the earlier occurrence
        # `wall` falls in a DST gap: find the jump by bisection between the two readings
        # (the wall clock is monotonic there); transitions fall on whole seconds.
        other = wall.replace(tzinfo=self._tz, fold=1).astimezone(UTC)
        low, high = int(min(first, other).timestamp()), int(max(first, other).timestamp())
        while high - low > 1:
            middle = (low + high) // 2
            if self._wall(datetime.fromtimestamp(middle, UTC)) >= wall:
                high = middle
            else:
                low = middle
        return datetime.fromtimestamp(high, UTC)

    def spans_on(self, day: date) -> tuple[Span, ...]:
        """Real UTC spans [start, end) of business time of a local date, in order."""
        cached = self._spans.get(day)
        if cached is not None:
            return cached
        midnight = datetime.combine(day, time())
        spans: list[Span] = []
        for interval in self.intervals_on(day):
            start = self._first_instant(midnight + interval.start * _MINUTE)
            end = self._first_instant(midnight + interval.end * _MINUTE)
            if end > start:  # an interval entirely inside a DST gap never happens
                spans.append((start, end))
        result = tuple(spans)
        if len(self._spans) >= _SPAN_CACHE_LIMIT:
            self._spans.clear()
        self._spans[day] = result
        return result

    def _spans_from(self, instant: datetime) -> Iterator[Span]:
        """Every span that ends after `instant` (UTC), in order, forever."""
        # Start a day early: a span of the previous local date can reach past `instant`.
        day = self._wall(instant).date() - _ONE_DAY
        idle = 0
        while True:
            spans = self.spans_on(day)
            idle = 0 if spans else idle + 1
            if idle > _MAX_IDLE_DAYS:
                raise ValueError(f"no business hours within {_MAX_IDLE_DAYS} days of {day}")
            for span in spans:
                if span[1] > instant:
                    yield span
            day += _ONE_DAY

    def is_open(self, at: datetime) -> bool:
        """Whether `at` lies inside business hours (opening included, closing excluded)."""
        instant = _utc(at, "at")
        start, _ = next(self._spans_from(instant))
        return start <= instant

    def next_opening(self, at: datetime) -> datetime:
        """`at` itself when open, else the next opening; in `at`'s time zone."""
        instant = _utc(at, "at")
        start, _ = next(self._spans_from(instant))
        return at if start <= instant else start.astimezone(at.tzinfo)

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant t >= start with ``business_time_between(start, t) == duration``.

        Outside business hours the clock starts at the next opening. When the duration runs
        out exactly at a closing time the result is that closing time (not the next opening).
        A zero duration returns `start`. Negative durations raise ``ValueError``. The result
        is in `start`'s time zone.
        """
        instant = _utc(start, "start")
        if duration < timedelta(0):
            raise ValueError(f"cannot add a negative business duration {duration}")
        if not duration:
            return start
        remaining = duration
        for span_start, span_end in self._spans_from(instant):
            begin = max(span_start, instant)
            available = span_end - begin
            if remaining <= available:
                return (begin + remaining).astimezone(start.tzinfo)
            remaining -= available
        raise AssertionError("unreachable: _spans_from never ends")  # pragma: no cover

    def add_business_minutes(self, start: datetime, minutes: int) -> datetime:
        """`add_business_time` with whole minutes; see there."""
        return self.add_business_time(start, minutes * _MINUTE)

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Real time inside business hours within [a, b). ``ValueError`` when b < a."""
        a, b = _utc(a, "a"), _utc(b, "b")
        if b < a:
            raise ValueError(f"end {b} is before start {a}")
        total = timedelta(0)
        last_day = self._wall(b).date() + _ONE_DAY
        day = self._wall(a).date() - _ONE_DAY
        while day <= last_day:
            for span_start, span_end in self.spans_on(day):
                overlap = min(span_end, b) - max(span_start, a)
                if overlap > timedelta(0):
                    total += overlap
            day += _ONE_DAY
        return total

    def business_minutes_between(self, a: datetime, b: datetime) -> int:
        """Whole business minutes within [a, b) (floor); ``ValueError`` when b < a."""
        return self.business_time_between(a, b) // _MINUTE


def default_calendar() -> BusinessCalendar:
    """The default calendar: Mon-Fri 09:00-22:00 Europe/Berlin, German nationwide holidays."""
    weekday = ("09:00-22:00",)
    return BusinessCalendar(
        "Europe/Berlin", dict.fromkeys(range(5), weekday), country="DE", subdivision=None
    )
