"""The catalog's `[support]` section: business hours, SLA targets per tier, warning leads.

Durations are business time: ``"90m"``, ``"3h"``, ``"1d"`` (one business day: the longest
scheduled weekday unless `hours.business_day` says otherwise), or ``"none"`` for no target.
A tier left out takes Entitle's defaults (the seeds' promises where they make one).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from entitle_events.ticketing import SupportTier
from pydantic import BaseModel, ConfigDict, Field, model_validator

_DURATION = re.compile(r"^\s*(\d+)\s*(m|h|d)\s*$")
BusinessDuration = Annotated[
    str,
    Field(
        pattern=r"^\s*(\d+\s*(m|h|d)|none)\s*$",
        description='Business time: "90m", "3h", "1d" (business days), or "none".',
        examples=["3h"],
    ),
]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_duration(text: str, business_day_minutes: int) -> int | None:
    """Business minutes of a `BusinessDuration`; None for ``"none"``."""
    if text.strip() == "none":
        return None
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a business duration like 90m, 3h or 1d")
    amount, unit = int(match.group(1)), match.group(2)
    return amount * {"m": 1, "h": 60, "d": business_day_minutes}[unit]


Interval = Annotated[str, Field(pattern=r"^\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*$")]


class BusinessHours(_Entry):
    """When the support team works (default Mon-Fri 09:00-22:00 Europe/Berlin, German
    holidays)."""

    timezone: str = "Europe/Berlin"
    week: dict[Weekday, list[Interval]] = Field(
        default_factory=lambda: {day: ["09:00-22:00"] for day in WEEKDAYS[:5]},
        description='Intervals per weekday, e.g. {mon = ["09:00-12:00", "13:00-17:00"]}.',
    )
    holidays: str | None = Field(default="DE", description="Country of the public holidays.")
    subdivision: str | None = Field(default=None, description="e.g. BY for Bavaria.")
    extra_holidays: list[date] = []
    business_day: BusinessDuration | None = Field(
        default=None, description="Length of one business day; default the longest weekday."
    )

    @model_validator(mode="after")
    def _known_zone(self) -> BusinessHours:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"support.hours: unknown time zone {self.timezone!r}") from exc
        return self


class WarningLead(_Entry):
    """When `ticket.sla-warning` goes out: `before` a due time in business time, or when a
    `share` of the target is left (0.25: a 3 h target warns 45 min before)."""

    before: BusinessDuration | None = None
    share: float | None = Field(default=None, gt=0, lt=1)

    @model_validator(mode="after")
    def _one_of(self) -> WarningLead:
        if (self.before is None) == (self.share is None):
            raise ValueError("a warning lead needs exactly one of `before` and `share`")
        return self


class TierTargets(_Entry):
    """SLA targets of one tier; a target left out takes the default of its tier."""

    first_response: BusinessDuration | None = None
    update: BusinessDuration | None = None
    resolution: BusinessDuration | None = None
    warning: WarningLead | None = Field(default=None, description="Overrides support.warning.")


class SupportConfig(_Entry):
    hours: BusinessHours = BusinessHours()
    warning: WarningLead = WarningLead(share=0.25)
    targets: dict[SupportTier, TierTargets] = {}

    @model_validator(mode="after")
    def _no_forum_targets(self) -> SupportConfig:
        if "forum" in self.targets:
            raise ValueError("support.targets.forum: the forum tier takes no tickets")
        return self
