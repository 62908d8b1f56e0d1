"""Ticket lifecycle over HTTP, and the schedulers run with a moved clock."""

from __future__ import annotations

from datetime import timedelta

from services.ticketing.handlers.sla import auto_close_due, check_sla

from .conftest import ADMIN, TicketingService


async def _open(ticketing: TicketingService) -> str:
    await ticketing.buy_license("acme")
    opened = await ticketing.open()
    assert opened.status_code == 201, opened.text
    number: str = opened.json()["number"]
    return number


async def test_auto_close_after_three_attempts_then_reopen_and_survey_once(
    ticketing: TicketingService,
) -> None:
    number = await _open(ticketing)
    pending = await ticketing.post(number, "pending", {"body": "Please send the log."})
    assert pending.status_code == 200, pending.text
    assert pending.json()["status"] == "pending"
    assert pending.json()["contact_attempts"] == 1
    first_attempt = ticketing.clock.now()
    for _ in range(2):
        ticketing.clock.advance(timedelta(days=3))
        reminder = await ticketing.post(number, "comments", {"author": "agent", "body": "Ping"})
        assert reminder.status_code == 200, reminder.text
    assert reminder.json()["contact_attempts"] == 3

    ticketing.clock.set(first_attempt + timedelta(days=10) - timedelta(minutes=1))
    assert await auto_close_due(ticketing.runtime, ticketing.cfg) == 0
    ticketing.clock.set(first_attempt + timedelta(days=10))
    assert await auto_close_due(ticketing.runtime, ticketing.cfg) == 1
    assert await auto_close_due(ticketing.runtime, ticketing.cfg) == 0
    closed = (await ticketing.client.get(f"/tickets/{number}", headers=ADMIN)).json()
    assert closed["status"] == "closed"
    assert [e["type"] for e in closed["timeline"]] == [
        "opened",
        "responded",
        "pending",
        "pending",
        "pending",
        "closed",
    ]
    assert closed["timeline"][-1]["detail"] == {"reason": "no_reply", "status": "closed"}
    assert closed["timeline"][-1]["actor"] == "system"

    reopened = await ticketing.post(number, "reopen")
    assert reopened.status_code == 200
    assert reopened.json()["status"] == "open"
    assert reopened.json()["number"] == number
    again = await ticketing.post(number, "reopen")
    assert again.status_code == 409
    assert again.json()["code"] == "ALREADY_OPEN"

    by_customer = await ticketing.post(number, "close", {"by": "customer"})
    assert by_customer.json()["status"] == "closed"
    survey = await ticketing.post(number, "survey", {"rating": 5, "comment": "Great"})
    assert survey.status_code == 200, survey.text
    assert survey.json()["survey"]["rating"] == 5
    twice = await ticketing.post(number, "survey", {"rating": 1})
    assert twice.status_code == 409
    assert twice.json()["code"] == "SURVEY_ALREADY_ANSWERED"

    closed_events = await ticketing.published("entitle.ticketing.ticket.closed.v1")
    assert [e["reason"] for e in closed_events] == ["no_reply", "customer"]
    answered = await ticketing.published("entitle.ticketing.survey.answered.v1")
    assert len(answered) == 1


async def test_customer_reply_resets_attempts(ticketing: TicketingService) -> None:
    number = await _open(ticketing)
    await ticketing.post(number, "pending", {"body": "Which version?"})
    await ticketing.post(number, "comments", {"author": "agent", "body": "Reminder"})
    ticketing.clock.advance(timedelta(hours=1))
    reply = await ticketing.post(number, "comments", {"author": "customer", "body": "18.1"})
    assert reply.json()["status"] == "open"
    assert reply.json()["contact_attempts"] == 0
    assert reply.json()["auto_close_at"] is None


async def test_illegal_transitions_answer_409(ticketing: TicketingService) -> None:
    number = await _open(ticketing)
    solve_new = await ticketing.post(number, "solve")
    assert solve_new.status_code == 409
    assert solve_new.json()["code"] == "NOT_RESPONDED"
    await ticketing.post(number, "comments", {"author": "agent", "body": "Looking into it"})
    close_open = await ticketing.post(number, "close", {"by": "agent"})
    assert close_open.status_code == 409
    assert close_open.json()["code"] == "NOT_SOLVED"
    assert (await ticketing.post(number, "solve")).json()["status"] == "solved"
    assert (await ticketing.post(number, "close", {"by": "agent"})).json()["status"] == "closed"
    reply_closed = await ticketing.post(number, "comments", {"author": "customer", "body": "x"})
    assert reply_closed.status_code == 409
    assert reply_closed.json()["code"] == "TICKET_CLOSED"
    missing = await ticketing.post("T-1999-000001", "solve")
    assert missing.status_code == 404


async def test_sla_breach_is_emitted_once(ticketing: TicketingService) -> None:
    number = await _open(ticketing)
    assert await check_sla(ticketing.runtime, ticketing.cfg) == 0
    ticketing.clock.advance(timedelta(days=3))
    assert await check_sla(ticketing.runtime, ticketing.cfg) == 1
    assert await check_sla(ticketing.runtime, ticketing.cfg) == 0
    listed = await ticketing.client.get("/tickets?breached=true", headers=ADMIN)
    assert [t["number"] for t in listed.json()["items"]] == [number]
    none = await ticketing.client.get("/tickets?breached=false", headers=ADMIN)
    assert none.json()["items"] == []
    breaches = await ticketing.published("entitle.ticketing.ticket.sla-breached.v1")
    assert [(b["number"], b["target"]) for b in breaches] == [(number, "first_response")]


async def test_update_timer_runs_from_a_customer_reply(ticketing: TicketingService) -> None:
    number = await _open(ticketing)
    await ticketing.post(number, "comments", {"author": "agent", "body": "Which version?"})
    ticketing.clock.advance(timedelta(hours=1))
    await ticketing.post(number, "comments", {"author": "customer", "body": "18.1"})
    ticketing.clock.advance(timedelta(days=3))
    assert await check_sla(ticketing.runtime, ticketing.cfg) == 1
    detail = (await ticketing.client.get(f"/tickets/{number}", headers=ADMIN)).json()
    assert detail["breached"] is True
    assert detail["timeline"][-1]["type"] == "sla_breached"
    assert detail["timeline"][-1]["detail"]["target"] == "update"
