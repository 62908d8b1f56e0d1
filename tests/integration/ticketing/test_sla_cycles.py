"""SLA warnings and breaches once per target and cycle, over HTTP and the real broker, with
the scheduler run at chosen moments of a moved clock."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from prometheus_client import REGISTRY

from services.ticketing.handlers.sla import check_sla

from .conftest import ACME, ADMIN, TicketingService

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def _priority_ticket(ticketing: TicketingService) -> str:
    await ticketing.buy_license("acme")
    opened = await ticketing.open()  # Wednesday 18 November, 11:00 Berlin
    assert opened.status_code == 201, opened.text
    number: str = opened.json()["number"]
    return number


async def test_a_warning_goes_once_inside_business_hours_then_the_breach_once(
    ticketing: TicketingService,
) -> None:
    number = await _priority_ticket(ticketing)
    assigned = await ticketing.post(
        number, "assign", {"assignee": "alice@vendor.example", "actor": "alice@vendor.example"}
    )
    assert assigned.status_code == 200, assigned.text
    warnings_before = sample(
        "entitle_ticket_sla_warnings_total", tier="priority", target="first_response"
    )
    # Due Thursday 11:00; a quarter of the business day (3 h 15) before is Wednesday 20:45.
    detail = (await ticketing.client.get(f"/tickets/{number}", headers=ADMIN)).json()
    first = next(c for c in detail["sla"]["running"] if c["target"] == "first_response")
    assert datetime.fromisoformat(first["due_at"]) == berlin(19, 11)
    assert datetime.fromisoformat(first["warn_at"]) == berlin(18, 20, 45)

    ticketing.clock.set(berlin(18, 20, 40))
    await check_sla(ticketing.runtime, ticketing.cfg)
    # The scheduler looks again only at 23:00: inside the lead, but outside business hours.
    ticketing.clock.set(berlin(18, 23))
    await check_sla(ticketing.runtime, ticketing.cfg)
    ticketing.clock.set(berlin(19, 8, 59))
    await check_sla(ticketing.runtime, ticketing.cfg)
    assert await ticketing.published("entitle.ticketing.ticket.sla-warning.v1") == []

    ticketing.clock.set(berlin(19, 9, 1))
    assert await check_sla(ticketing.runtime, ticketing.cfg) == 1
    await check_sla(ticketing.runtime, ticketing.cfg)
    (warning,) = await ticketing.published("entitle.ticketing.ticket.sla-warning.v1")
    assert (warning["target"], warning["cycle"], warning["tier"]) == (
        "first_response",
        1,
        "priority",
    )
    assert warning["business_minutes_left"] == 119
    assert warning["assignee"] == "alice@vendor.example"
    assert warning["desk_link"].endswith("/desk/tickets/" + number)
    assert datetime.fromisoformat(warning["warned_at"]) == berlin(19, 9, 1)
    assert (
        sample("entitle_ticket_sla_warnings_total", tier="priority", target="first_response")
        == warnings_before + 1
    )

    ticketing.clock.set(berlin(19, 11, 1))
    await check_sla(ticketing.runtime, ticketing.cfg)
    await check_sla(ticketing.runtime, ticketing.cfg)
    breaches = await ticketing.published("entitle.ticketing.ticket.sla-breached.v1")
    assert [(b["target"], b["cycle"], b["assignee"]) for b in breaches] == [
        ("first_response", 1, "alice@vendor.example")
    ]

    agent_view = (await ticketing.client.get(f"/tickets/{number}", headers=ADMIN)).json()
    types = [e["type"] for e in agent_view["timeline"]]
    assert types == ["opened", "assigned", "sla_warning", "sla_breached"]
    assert {e["visibility"] for e in agent_view["timeline"][1:]} == {"internal"}
    customer_view = (await ticketing.client.get(f"/tickets/{number}", headers=ACME)).json()
    assert [e["type"] for e in customer_view["timeline"]] == ["opened"]
    assert customer_view["assignee"] is None and customer_view["sla"] is None


async def test_the_update_target_re_arms_after_every_customer_reply(
    ticketing: TicketingService,
) -> None:
    number = await _priority_ticket(ticketing)
    met_before = sample(
        "entitle_ticket_sla_cycles_total", tier="priority", target="first_response", outcome="met"
    )
    ticketing.clock.set(berlin(18, 12))
    await ticketing.post(number, "comments", {"author": "agent", "body": "Which version?"})
    assert (
        sample(
            "entitle_ticket_sla_cycles_total",
            tier="priority",
            target="first_response",
            outcome="met",
        )
        == met_before + 1
    )
    for reply_day in (18, 23):
        ticketing.clock.set(berlin(reply_day, 13))
        await ticketing.post(number, "comments", {"author": "customer", "body": "18.1"})
        await ticketing.post(number, "comments", {"author": "customer", "body": "also this"})
        detail = (await ticketing.client.get(f"/tickets/{number}", headers=ADMIN)).json()
        update = next(c for c in detail["sla"]["running"] if c["target"] == "update")
        # One business day from the first of the replies, not the second.
        assert datetime.fromisoformat(update["due_at"]) == berlin(reply_day + 1, 13)
        ticketing.clock.set(berlin(reply_day + 1, 13, 1))
        await check_sla(ticketing.runtime, ticketing.cfg)
        await check_sla(ticketing.runtime, ticketing.cfg)
        ticketing.clock.set(berlin(reply_day + 1, 14))
        await ticketing.post(number, "comments", {"author": "agent", "body": "Fixed in 18.2"})

    breaches = await ticketing.published("entitle.ticketing.ticket.sla-breached.v1")
    assert [(b["target"], b["cycle"]) for b in breaches if b["target"] == "update"] == [
        ("update", 1),
        ("update", 2),
    ]
    warnings = await ticketing.published("entitle.ticketing.ticket.sla-warning.v1")
    # The checks ran only after each due time: no warning comes after a breach.
    assert [w for w in warnings if w["target"] == "update"] == []


async def test_a_cycle_answered_late_between_checks_is_breached_when_answered(
    ticketing: TicketingService,
) -> None:
    number = await _priority_ticket(ticketing)
    ticketing.clock.set(berlin(19, 12))  # an hour after the due time, no check ran
    answered = await ticketing.post(number, "comments", {"author": "agent", "body": "Sorry"})
    assert answered.json()["breached"] is True
    await check_sla(ticketing.runtime, ticketing.cfg)
    breaches = await ticketing.published("entitle.ticketing.ticket.sla-breached.v1")
    assert [(b["target"], b["cycle"]) for b in breaches] == [("first_response", 1)]


async def test_pending_pauses_resolution_and_a_reopen_starts_new_cycles(
    ticketing: TicketingService,
) -> None:
    number = await _priority_ticket(ticketing)
    ticketing.clock.set(berlin(18, 12))
    waiting = await ticketing.post(number, "pending", {"body": "Please send the log."})
    (resolution,) = waiting.json()["sla"]["running"]
    assert (resolution["target"], resolution["paused"], resolution["due_at"]) == (
        "resolution",
        True,
        None,
    )
    assert resolution["business_minutes_left"] == 5 * 780 - 60
    assert waiting.json()["sla"]["closes_without_reply_at"] is not None
    ticketing.clock.set(berlin(25, 12))
    await ticketing.post(number, "comments", {"author": "customer", "body": "log attached"})
    await ticketing.post(number, "solve")
    reopened = await ticketing.post(number, "reopen")
    cycles = {(c["target"], c["cycle"]) for c in reopened.json()["sla"]["running"]}
    assert cycles == {("update", 2), ("resolution", 2)}
