"""Shared helpers of the ticketing domain tests."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from services.ticketing.domain.calendar import default_calendar

BERLIN = ZoneInfo("Europe/Berlin")
SPRING_FORWARD = date(2026, 3, 29)  # 02:00 CET -> 03:00 CEST
FALL_BACK = date(2026, 10, 25)  # 03:00 CEST -> 02:00 CET

# Small example counts keep the ticketing suite fast; raise them for a deeper local run with
# TICKETING_EXAMPLES=2000.
fast = settings(
    max_examples=int(os.environ.get("TICKETING_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

CAL = default_calendar()


def utc(value: datetime) -> datetime:
    """Sort/compare key: Python compares datetimes sharing a tzinfo by wall time."""
    return value.astimezone(UTC)


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


# Dates that matter: DST switches, Easter 2026, Christmas, New Year.
INTERESTING_DATES = [
    SPRING_FORWARD - timedelta(days=3),
    SPRING_FORWARD - timedelta(days=1),
    SPRING_FORWARD,
    FALL_BACK - timedelta(days=2),
    FALL_BACK,
    date(2026, 4, 2),
    date(2026, 4, 3),
    date(2026, 4, 6),
    date(2026, 12, 23),
    date(2026, 12, 31),
]


@st.composite
def instants(draw: st.DrawFn, tz: ZoneInfo = BERLIN) -> datetime:
    """Aware instants in 2025-2027, biased towards the interesting dates; whole seconds."""
    day = draw(
        st.one_of(
            st.sampled_from(INTERESTING_DATES),
            st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
        )
    )
    # Build from UTC so every value is a real instant (no wall times in DST gaps).
    seconds = draw(st.integers(min_value=0, max_value=86_399))
    base = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=seconds)
    as_utc = draw(st.booleans())
    return base if as_utc else base.astimezone(tz)
