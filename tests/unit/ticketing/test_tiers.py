"""Support tier from entitlement facts (seeds 002 and 004)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from entitle_events.ticketing import TicketKind
from hypothesis import given
from hypothesis import strategies as st

from services.ticketing.domain.sla import default_sla_policy
from services.ticketing.domain.tiers import (
    ALL_KINDS,
    EntitlementFacts,
    SupportPolicy,
    decide_support,
    in_trial,
    resolve_tier,
    trial_ends_at,
)

from .support import CAL, berlin, fast

NOW = datetime(2026, 6, 1, 10, tzinfo=UTC)
EMAIL_ONLY = SupportPolicy()  # seed 004: email-only support without a plan
FORUM_ONLY = SupportPolicy(forum_only_without_plan=True, forum_url="https://forum.example/")


def test_active_plan_gets_priority_with_restore() -> None:
    decision = resolve_tier(EntitlementFacts(has_active_plan=True), EMAIL_ONLY, NOW)
    assert decision.accepted
    assert decision.tier == "priority"
    assert decision.sla_key == "priority"
    assert decision.allowed_kinds == {"technical", "restore"}
    assert not decision.consumes_credit
    assert decision.code is None


def test_active_subscription_includes_the_plan() -> None:
    decision = decide_support(
        EntitlementFacts(has_active_subscription=True), FORUM_ONLY, "restore", NOW
    )
    assert decision.accepted and decision.tier == "priority"


def test_per_incident_consumes_a_credit_for_technical_requests_only() -> None:
    facts = EntitlementFacts(incident_credits=2)
    technical = decide_support(facts, EMAIL_ONLY, "technical", NOW)
    assert technical.tier == "per_incident"
    assert technical.consumes_credit
    assert default_sla_policy(CAL)[technical.tier].first_response == 180
    # Restore needs a plan ("all time-critical questions but restore support").
    restore = decide_support(facts, EMAIL_ONLY, "restore", NOW)
    assert not restore.accepted
    assert restore.code == "RESTORE_NEEDS_PLAN"
    assert not restore.consumes_credit
    assert restore.pointer == EMAIL_ONLY.plans_url


def test_a_plan_beats_incident_credits() -> None:
    facts = EntitlementFacts(has_active_plan=True, incident_credits=5)
    decision = resolve_tier(facts, EMAIL_ONLY, NOW)
    assert decision.tier == "priority" and not decision.consumes_credit


def test_forum_only_policy_refuses_without_a_plan() -> None:
    decision = resolve_tier(EntitlementFacts(), FORUM_ONLY, NOW)
    assert not decision.accepted
    assert decision.tier == "forum"
    assert decision.code == "FORUM_ONLY"
    assert decision.pointer == "https://forum.example/"
    assert decision.reason and "forum" in decision.reason
    assert decision.sla_key is None
    assert decision.allowed_kinds == frozenset()


def test_forum_only_policy_still_honours_credits_trials_and_partners() -> None:
    assert resolve_tier(EntitlementFacts(incident_credits=1), FORUM_ONLY, NOW).accepted
    assert resolve_tier(EntitlementFacts(registered_at=NOW), FORUM_ONLY, NOW).tier == "trial"
    assert resolve_tier(EntitlementFacts(is_partner=True), FORUM_ONLY, NOW).tier == "partner"


def test_basic_email_only_support_without_a_plan() -> None:
    decision = resolve_tier(EntitlementFacts(), EMAIL_ONLY, NOW)
    assert decision.accepted and decision.tier == "basic"
    assert decision.allowed_kinds == {"technical"}


def test_discontinued_version_is_refused_whatever_the_plan() -> None:
    facts = EntitlementFacts(has_active_plan=True, incident_credits=3, version_supported=False)
    decision = resolve_tier(facts, EMAIL_ONLY, NOW)
    assert not decision.accepted
    assert decision.code == "VERSION_DISCONTINUED"
    assert decision.pointer == EMAIL_ONLY.docs_url
    assert not decision.consumes_credit


def test_presales_is_for_partners_and_skips_the_version_check() -> None:
    partner = EntitlementFacts(is_partner=True, version_supported=False)
    decision = decide_support(partner, EMAIL_ONLY, "presales", NOW)
    assert decision.accepted and decision.tier == "partner"
    assert "presales" in decision.allowed_kinds
    refused = decide_support(EntitlementFacts(has_active_plan=True), EMAIL_ONLY, "presales", NOW)
    assert refused.code == "PRESALES_PARTNERS_ONLY"


def test_partner_with_a_plan_is_priority_and_may_ask_presales() -> None:
    facts = EntitlementFacts(is_partner=True, has_active_plan=True, incident_credits=1)
    decision = decide_support(facts, EMAIL_ONLY, "presales", NOW)
    assert decision.accepted and decision.tier == "priority"
    assert decision.allowed_kinds == {"technical", "restore", "presales"}


def test_setup_assistance_only_for_products_that_include_it() -> None:
    server = EntitlementFacts(setup_assistance=True, incident_credits=1)
    decision = decide_support(server, EMAIL_ONLY, "setup", NOW)
    assert decision.accepted
    assert decision.tier == "basic"  # setup assistance is free: no credit used
    assert not decision.consumes_credit
    desktop = decide_support(EntitlementFacts(has_active_plan=True), EMAIL_ONLY, "setup", NOW)
    assert desktop.code == "SETUP_NOT_INCLUDED"


def test_trial_support_ends_after_fifteen_calendar_days() -> None:
    registered = berlin(2026, 5, 1, 18)
    facts = EntitlementFacts(registered_at=registered)
    assert trial_ends_at(registered, EMAIL_ONLY) == berlin(2026, 5, 16)
    assert resolve_tier(facts, EMAIL_ONLY, registered).tier == "trial"
    last_minute = berlin(2026, 5, 15, 23, 59)
    assert resolve_tier(facts, EMAIL_ONLY, last_minute).tier == "trial"
    assert resolve_tier(facts, EMAIL_ONLY, berlin(2026, 5, 16)).tier == "basic"
    after = resolve_tier(facts, FORUM_ONLY, berlin(2026, 5, 16))
    assert after.code == "FORUM_ONLY"
    # Registration date counts in the policy's zone: 23:30 UTC on 30 April is 1 May in Berlin.
    late_utc = datetime(2026, 4, 30, 23, 30, tzinfo=UTC)
    assert trial_ends_at(late_utc, EMAIL_ONLY) == berlin(2026, 5, 16)
    assert not in_trial(facts, EMAIL_ONLY, registered - timedelta(minutes=1))


def test_invalid_inputs() -> None:
    with pytest.raises(ValueError):
        resolve_tier(EntitlementFacts(), EMAIL_ONLY, datetime(2026, 6, 1))
    with pytest.raises(ValueError):
        resolve_tier(EntitlementFacts(incident_credits=-1), EMAIL_ONLY, NOW)
    with pytest.raises(ValueError):
        resolve_tier(EntitlementFacts(registered_at=datetime(2026, 6, 1)), EMAIL_ONLY, NOW)


facts_strategy = st.builds(
    EntitlementFacts,
    has_active_plan=st.booleans(),
    has_active_subscription=st.booleans(),
    incident_credits=st.integers(0, 3),
    registered_at=st.one_of(st.none(), st.just(NOW - timedelta(days=3))),
    is_partner=st.booleans(),
    setup_assistance=st.booleans(),
    version_supported=st.booleans(),
)


@fast
@given(
    facts=facts_strategy,
    forum_only=st.booleans(),
    kind=st.sampled_from(sorted(ALL_KINDS)),
)
def test_decisions_are_consistent(
    facts: EntitlementFacts, forum_only: bool, kind: TicketKind
) -> None:
    policy = SupportPolicy(forum_only_without_plan=forum_only)
    decision = decide_support(facts, policy, kind, NOW)
    if decision.accepted:
        assert decision.code is None and decision.reason is None
        assert kind in decision.allowed_kinds
        assert decision.tier != "forum"
        assert decision.sla_key in default_sla_policy(CAL)
        assert decision.consumes_credit == (decision.tier == "per_incident")
        if kind == "restore":
            assert facts.has_active_plan or facts.has_active_subscription
        if kind == "presales":
            assert facts.is_partner
        else:
            assert facts.version_supported
    else:
        assert decision.code is not None and decision.reason
        assert not decision.consumes_credit
        assert decision.sla_key is None
