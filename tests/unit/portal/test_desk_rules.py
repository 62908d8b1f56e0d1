"""The desk's pure rules: the queue's filters from a page's query, deadlines in words, the
state of each SLA cycle, and which status changes a license allows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.portal.domain import desk
from services.portal.domain.answers import RunningCycle

NOW = datetime(2026, 11, 18, 10, tzinfo=UTC)
PRODUCTS = {"backup-pro"}


def test_the_queue_takes_only_known_filter_values() -> None:
    query = desk.QueueQuery.of(
        {"tier": "priority", "status": "closed", "product": "x", "assignee": "me", "sla": "nope"},
        PRODUCTS,
    )
    assert query == desk.QueueQuery(tier="priority", assignee="me")
    assert query.api_filters("alice@vendor.example") == {
        "tier": "priority",
        "status": None,
        "product": None,
        "assignee": "alice@vendor.example",
        "sla": None,
    }
    unassigned = desk.QueueQuery.of({"assignee": "none", "product": "backup-pro"}, PRODUCTS)
    assert unassigned.api_filters("a@b.example")["assignee"] == "none"
    assert unassigned.as_params(sla="breached") == {
        "product": "backup-pro",
        "assignee": "none",
        "sla": "breached",
    }


@given(
    st.dictionaries(st.sampled_from(["tier", "status", "product", "assignee", "sla"]), st.text())
)
def test_whatever_a_query_holds_the_filters_are_known_values(params: dict[str, str]) -> None:
    query = desk.QueueQuery.of(params, PRODUCTS)
    assert query.tier in ("", *desk.TIERS)
    assert query.status in ("", "new", "open", "pending", "solved")
    assert query.product in ("", *PRODUCTS)
    assert query.assignee in ("", "me", "none")
    assert query.sla in ("", *desk.SLA_STATES)


def test_business_time_in_words() -> None:
    assert desk.duration(45) == "45 min"
    assert desk.duration(195) == "3 h 15 min"
    assert desk.duration(-120) == "2 h"
    assert desk.time_left(150) == "2 h 30 min left"
    assert desk.time_left(-30) == "overdue by 30 min"
    assert desk.time_left(None) == ""


def test_each_running_cycle_gets_its_state_at_now() -> None:
    def cycle(**kw: object) -> RunningCycle:
        fields: dict[str, object] = {
            "target": "first_response",
            "cycle": 1,
            "due_at": None,
            "business_minutes_left": 30,
            "breached": False,
            "paused": False,
            "warn_at": None,
        }
        return RunningCycle.model_validate(fields | kw)

    states = desk.cycle_states(
        [
            cycle(breached=True),
            cycle(paused=True, warn_at=(NOW - timedelta(hours=1)).isoformat()),
            cycle(warn_at=(NOW - timedelta(minutes=1)).isoformat()),
            cycle(warn_at=(NOW + timedelta(minutes=1)).isoformat()),
        ],
        NOW,
    )
    assert [s.state for s in states] == ["breached", "paused", "at_risk", "on_track"]


def test_a_license_offers_the_status_changes_its_state_allows() -> None:
    assert desk.license_actions("active", "perpetual") == ["suspend", "revoke"]
    assert desk.license_actions("suspended", "msp") == [
        "reinstate",
        "revoke",
        "deactivate",
    ]
    assert desk.license_actions("expired", "subscription") == [
        "revoke",
        "deactivate",
    ]
    assert desk.license_actions("revoked", "perpetual") == []


def test_the_vendored_htmx_is_the_published_one() -> None:
    """htmx.org 2.0.11 from the npm registry (dist/htmx.min.js, BSD-0): no build step."""
    import hashlib
    from pathlib import Path

    import services.portal

    path = Path(services.portal.__file__).parent / "static" / "htmx.min.js"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"
