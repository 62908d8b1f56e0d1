"""The catalog's `[support]` section as a business calendar and SLA targets per tier."""

from __future__ import annotations

from services.policy.catalog.support import (
    WEEKDAYS,
    BusinessHours,
    SupportConfig,
    TierTargets,
    WarningLead,
    parse_duration,
)

from .calendar import BusinessCalendar
from .sla import TIERS_WITH_TICKETS, SlaTarget, SlaTargets, WarningRule, default_sla_policy

TARGETS: tuple[SlaTarget, ...] = ("first_response", "update", "resolution")


def calendar_of(hours: BusinessHours) -> BusinessCalendar:
    """The team's calendar; ``ValueError`` names what is wrong (zone, intervals, country)."""
    week = {WEEKDAYS.index(day): intervals for day, intervals in hours.week.items()}
    calendar = BusinessCalendar(
        hours.timezone,
        week,
        country=hours.holidays,
        subdivision=hours.subdivision,
        extra_holidays=hours.extra_holidays,
    )
    if hours.business_day is None:
        return calendar
    day = parse_duration(hours.business_day, calendar.business_day_minutes)
    if day is None:
        raise ValueError("support.hours.business_day cannot be none")
    return BusinessCalendar(
        hours.timezone,
        week,
        country=hours.holidays,
        subdivision=hours.subdivision,
        extra_holidays=hours.extra_holidays,
        business_day_minutes=day,
    )


def warning_rule(lead: WarningLead, calendar: BusinessCalendar) -> WarningRule:
    if lead.before is not None:
        return WarningRule(before=parse_duration(lead.before, calendar.business_day_minutes) or 0)
    return WarningRule(share=lead.share)


def _targets(
    default: SlaTargets,
    configured: TierTargets | None,
    warning: WarningRule,
    calendar: BusinessCalendar,
) -> SlaTargets:
    minutes: dict[SlaTarget, int | None] = {}
    for target in TARGETS:
        text = getattr(configured, target, None) if configured else None
        minutes[target] = (
            default.minutes(target)
            if text is None
            else parse_duration(text, calendar.business_day_minutes)
        )
    if configured is not None and configured.warning is not None:
        warning = warning_rule(configured.warning, calendar)
    return SlaTargets(
        first_response=minutes["first_response"],
        update=minutes["update"],
        resolution=minutes["resolution"],
        warning=warning,
    )


def sla_policy_of(config: SupportConfig, calendar: BusinessCalendar) -> dict[str, SlaTargets]:
    """Targets of every tier that takes tickets: the catalog's, else the defaults."""
    defaults = default_sla_policy(calendar)
    warning = warning_rule(config.warning, calendar)
    return {
        tier: _targets(defaults[tier], config.targets.get(tier), warning, calendar)
        for tier in TIERS_WITH_TICKETS
    }
