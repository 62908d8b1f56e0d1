"""The catalog's `[support]` section: business hours, SLA targets and warning leads per tier,
and the sentence that says why a request has its tier."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from services.policy.catalog import Catalog, load_catalog
from services.policy.catalog.support import SupportConfig, parse_duration
from services.ticketing.domain.policy import calendar_of, sla_policy_of
from services.ticketing.domain.sla import SlaTargets, WarningRule
from services.ticketing.domain.tiers import (
    EntitlementFacts,
    PlanBasis,
    SupportPolicy,
    decide_support,
    explain,
)

from .support import berlin

NOW = datetime(2026, 11, 18, 10, tzinfo=UTC)


def _catalog(support: dict[str, Any]) -> Catalog:
    data = copy.deepcopy(load_catalog().model_dump())
    data["support"] = support
    return Catalog.model_validate(data)


def test_without_a_support_section_the_defaults_apply() -> None:
    config = load_catalog().support
    calendar = calendar_of(config.hours)
    assert calendar.timezone == "Europe/Berlin"
    assert calendar.business_day_minutes == 780
    assert calendar.is_holiday(date(2026, 12, 25))
    policy = sla_policy_of(config, calendar)
    assert policy["priority"] == SlaTargets(780, 780, 3900, WarningRule(share=0.25))
    assert policy["per_incident"].first_response == 180
    assert set(policy) == {"priority", "per_incident", "partner", "trial", "basic"}


def test_targets_hours_and_warnings_come_from_the_catalog() -> None:
    catalog = _catalog(
        {
            "hours": {
                "timezone": "America/Los_Angeles",
                "week": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
                "holidays": "US",
            },
            "warning": {"before": "30m"},
            "targets": {
                "priority": {"first_response": "4h", "resolution": "3d"},
                "basic": {"resolution": "none", "warning": {"share": 0.5}},
            },
        }
    )
    calendar = calendar_of(catalog.support.hours)
    assert calendar.business_day_minutes == 480
    assert not calendar.is_open(datetime(2026, 11, 26, 18, tzinfo=UTC))  # Thanksgiving
    policy = sla_policy_of(catalog.support, calendar)
    assert policy["priority"].first_response == 240
    assert policy["priority"].update == 480  # the default: one (8 h) business day
    assert policy["priority"].resolution == 3 * 480
    assert policy["priority"].warning.lead(240) == 30
    assert policy["basic"].resolution is None
    assert policy["basic"].warning.lead(480) == 240
    assert policy["per_incident"].first_response == 180


def test_a_business_day_can_be_set() -> None:
    config = SupportConfig.model_validate({"hours": {"business_day": "8h"}})
    calendar = calendar_of(config.hours)
    assert calendar.business_day_minutes == 480
    assert sla_policy_of(config, calendar)["priority"].first_response == 480


@pytest.mark.parametrize(
    ("support", "message"),
    [
        ({"targets": {"priority": {"first_response": "soon"}}}, "first_response"),
        ({"targets": {"forum": {"first_response": "1h"}}}, "forum tier takes no tickets"),
        ({"hours": {"timezone": "Mars/Olympus"}}, "unknown time zone"),
        ({"hours": {"week": {"mon": ["9-17"]}}}, "week.mon"),
        ({"warning": {"before": "1h", "share": 0.5}}, "exactly one"),
        ({"warning": {"share": 1.5}}, "share"),
        ({"targets": {"gold": {}}}, "gold"),
    ],
)
def test_a_wrong_support_section_names_the_fault(support: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _catalog(support)


def test_durations() -> None:
    assert parse_duration("90m", 780) == 90
    assert parse_duration(" 3h ", 780) == 180
    assert parse_duration("2d", 780) == 1560
    assert parse_duration("none", 780) is None
    with pytest.raises(ValueError, match="business duration"):
        parse_duration("3 hours", 780)


POLICY = SupportPolicy()


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (
            EntitlementFacts(
                has_active_plan=True,
                plan_basis=PlanBasis("maintenance", "KEY-1", berlin(2027, 3, 1, 12)),
            ),
            "Priority support: license KEY-1 is under maintenance until 2027-03-01.",
        ),
        (
            EntitlementFacts(
                has_active_plan=True,
                plan_basis=PlanBasis("maintenance", "eyJsIjoiOGU1Yjg1MDQtYmY4Yy", None),
            ),
            "Priority support: license eyJsIjoiOGU1… is covered while it stays active.",
        ),
        (
            EntitlementFacts(
                has_active_subscription=True, plan_basis=PlanBasis("subscription", "KEY-2", None)
            ),
            "Priority support: subscription license KEY-2 is active with no end date.",
        ),
        (
            EntitlementFacts(
                has_active_plan=True,
                plan_basis=PlanBasis("support_plan", "O-7", berlin(2027, 1, 1, 0, 30)),
            ),
            "Priority support: the support plan of order O-7 runs until 2027-01-01.",
        ),
        (
            EntitlementFacts(incident_credits=3),
            "Per-incident support: this ticket uses one of the account's incident credits"
            " (2 left).",
        ),
        (EntitlementFacts(is_partner=True), "Partner support: the account is a channel partner."),
        (
            EntitlementFacts(registered_at=berlin(2026, 11, 10, 23, 30)),
            "Trial support: 15 days from the registration on 2026-11-10, until 2026-11-24.",
        ),
        (
            EntitlementFacts(),
            "Basic email-only support: no active maintenance, subscription, support plan,"
            " incident credit or trial.",
        ),
        (
            EntitlementFacts(version_supported=False),
            "Refused (VERSION_DISCONTINUED): Support for this version has ended; please upgrade"
            " to a supported version. Its documentation stays available.",
        ),
    ],
)
def test_why_a_request_has_its_tier(facts: EntitlementFacts, expected: str) -> None:
    decision = decide_support(facts, POLICY, "technical", NOW)
    assert explain(decision, facts, POLICY) == expected
