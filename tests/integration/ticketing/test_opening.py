"""Opening tickets: tier from the live entitlement projection, SLA fixed at creation,
incident credits consumed once, refusals, customer-scoped keys."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from entitle_events.commerce import OrderPlaced, OrderRefunded
from entitle_events.licensing import ReleasePublished
from entitle_events.maintenance import CoverageLapsed
from entitle_events.topics import LICENSING_LICENSES, MAINTENANCE_COVERAGE, TICKETING_TICKETS

from services.ticketing.adapters.store import available_credits
from tests.helpers import eventually, order_data
from tests.integration.kafka_tools import produce_events

from .conftest import ACME, ADMIN, PRODUCT, TicketingService

BERLIN = ZoneInfo("Europe/Berlin")


async def test_plan_gives_priority_and_a_lapse_lowers_the_tier(
    ticketing: TicketingService,
) -> None:
    license_id = await ticketing.buy_license("acme")
    first = await ticketing.open()
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["tier"] == "priority"
    assert body["status"] == "new"
    assert body["number"].startswith("T-2026-")
    # Wednesday 11:00 Berlin + 13 business hours = Thursday 11:00 Berlin.
    assert datetime.fromisoformat(body["first_response_due"]) == datetime(
        2026, 11, 19, 11, 0, tzinfo=BERLIN
    )

    await ticketing.deliver(
        CoverageLapsed(
            license_id=license_id,
            license_key="K",
            product=PRODUCT,
            account_id="acme",
            contact_email="it@acme.example",
            ended_at=ticketing.clock.now(),
        ),
        license_id,
    )
    second = await ticketing.open()
    assert second.status_code == 201, second.text
    assert second.json()["tier"] == "basic"
    assert second.json()["number"] != body["number"]

    opened = await ticketing.published("entitle.ticketing.ticket.opened.v1")
    assert sorted(e["tier"] for e in opened) == ["basic", "priority"]
    assert opened[0]["link"].endswith("/" + opened[0]["number"])


async def test_forum_only_policy_refuses_without_a_plan(
    forum_ticketing: TicketingService,
) -> None:
    keyed = {"idempotency-key": "forum-1", **ADMIN}
    refused = await forum_ticketing.open(account="nobody", headers=keyed)
    assert refused.status_code == 403
    assert (await forum_ticketing.open(account="nobody", headers=keyed)).status_code == 403
    assert refused.json()["code"] == "FORUM_ONLY"
    assert refused.json()["pointer"] == "https://forum.example.com/"
    rejected = await forum_ticketing.published("entitle.ticketing.ticket.rejected.v1")
    assert [e["code"] for e in rejected] == ["FORUM_ONLY"]

    await forum_ticketing.buy_license("nobody")
    accepted = await forum_ticketing.open(account="nobody")
    assert accepted.status_code == 201
    assert accepted.json()["tier"] == "priority"


async def test_incident_credit_is_consumed_once_under_retries(
    ticketing: TicketingService,
) -> None:
    order = order_data(sku="BS-SRV-INCIDENT")
    order["buyer"]["account_id"] = "inc"
    await ticketing.deliver(OrderPlaced.model_validate(order), order["order_id"])
    async with ticketing.runtime.pool.acquire() as conn:
        assert await available_credits(conn, "inc") == 1

    key = {"idempotency-key": "req-1", **ADMIN}
    first = await ticketing.open(account="inc", headers=key)
    assert first.status_code == 201, first.text
    assert first.json()["tier"] == "per_incident"
    # Three business hours from Wednesday 11:00 Berlin.
    assert datetime.fromisoformat(first.json()["first_response_due"]) == datetime(
        2026, 11, 18, 14, 0, tzinfo=BERLIN
    )
    retry = await ticketing.open(account="inc", headers=key)
    assert retry.status_code == 200
    assert retry.json() == first.json()
    # The same key in the body (request_id) is the same request too.
    again = await ticketing.open(account="inc", request_id="req-1")
    assert again.json()["number"] == first.json()["number"]

    async with ticketing.runtime.pool.acquire() as conn:
        assert await available_credits(conn, "inc") == 0
    other = await ticketing.open(account="inc", headers={**key, "idempotency-key": "req-2"})
    assert other.status_code == 201
    assert other.json()["tier"] == "basic"
    opened = await ticketing.published("entitle.ticketing.ticket.opened.v1")
    assert sorted(e["tier"] for e in opened) == ["basic", "per_incident"]


async def test_friday_evening_ticket_is_due_monday_evening(ticketing: TicketingService) -> None:
    ticketing.clock.set(datetime(2026, 11, 20, 21, 30, tzinfo=BERLIN))
    await ticketing.buy_license("acme")
    opened = await ticketing.open()
    assert opened.json()["tier"] == "priority"
    due = datetime.fromisoformat(opened.json()["first_response_due"])
    assert due == datetime(2026, 11, 23, 21, 30, tzinfo=BERLIN)
    assert due.astimezone(UTC) == datetime(2026, 11, 23, 20, 30, tzinfo=UTC)


async def test_discontinued_version_is_refused(ticketing: TicketingService) -> None:
    await ticketing.buy_license("acme")
    for version, released in (
        ("17.0.0", datetime(2023, 1, 10, tzinfo=UTC)),
        ("18.0.0", datetime(2024, 3, 1, tzinfo=UTC)),
    ):
        major = int(version.split(".")[0])
        await ticketing.deliver(
            ReleasePublished(
                product=PRODUCT,
                version=version,
                major=major,
                minor=0,
                patch=0,
                released_at=released,
                release_kind="update",
            ),
            version,
        )
    # 18 months after 18.0 (2025-09-01) version 17 is discontinued.
    refused = await ticketing.open(version="17.2")
    assert refused.status_code == 422
    assert refused.json()["code"] == "VERSION_DISCONTINUED"
    assert refused.json()["pointer"] == "https://docs.example.com/"
    assert (await ticketing.open(version="18.1")).status_code == 201


async def test_customer_key_sees_only_its_own_tickets(ticketing: TicketingService) -> None:
    mine = await ticketing.open(headers=ACME)
    assert mine.status_code == 201, mine.text
    theirs = await ticketing.open(account="other")
    assert theirs.status_code == 201
    refused = await ticketing.open(account="other", headers=ACME)
    assert refused.status_code == 403

    listed = await ticketing.client.get("/tickets", headers=ACME)
    assert [t["number"] for t in listed.json()["items"]] == [mine.json()["number"]]
    assert (await ticketing.client.get("/tickets?account=other", headers=ACME)).status_code == 403
    hidden = await ticketing.client.get(f"/tickets/{theirs.json()['number']}", headers=ACME)
    assert hidden.status_code == 404
    everything = await ticketing.client.get("/tickets", headers=ADMIN)
    assert len(everything.json()["items"]) == 2
    agent_only = await ticketing.client.post(
        f"/tickets/{mine.json()['number']}/solve", headers=ACME
    )
    assert agent_only.status_code == 403


async def test_concurrent_retries_open_one_ticket_and_use_one_credit(
    ticketing: TicketingService,
) -> None:
    order = order_data(sku="BS-SRV-INCIDENT", quantity=2)
    order["buyer"]["account_id"] = "race"
    await ticketing.deliver(OrderPlaced.model_validate(order), order["order_id"])
    headers = {"idempotency-key": "same", **ADMIN}
    answers = await asyncio.gather(
        *(ticketing.open(account="race", headers=headers) for _ in range(5))
    )
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 201]
    assert len({a.json()["number"] for a in answers}) == 1
    async with ticketing.runtime.pool.acquire() as conn:
        assert await available_credits(conn, "race") == 1


async def test_trial_registration_gives_trial_support_for_15_days(
    ticketing: TicketingService,
) -> None:
    await ticketing.buy_license("trier", kind="trial", covered=False)
    assert (await ticketing.open(account="trier")).json()["tier"] == "trial"
    ticketing.clock.advance(timedelta(days=15))
    assert (await ticketing.open(account="trier")).json()["tier"] == "basic"


async def test_projection_is_fed_by_the_broker(ticketing: TicketingService) -> None:
    """The same purchase, published on the licensing and maintenance topics."""
    prefix = ticketing.topic.removesuffix(TICKETING_TICKETS)
    issued, started = ticketing.purchase_events("broker")
    await produce_events(ticketing.bootstrap, prefix + LICENSING_LICENSES, [issued])
    await produce_events(ticketing.bootstrap, prefix + MAINTENANCE_COVERAGE, [started])

    async def covered() -> bool:
        row = await ticketing.runtime.pool.fetchval(
            "select count(*) from ent_coverage c join ent_licenses l using (license_id)"
            " where c.account_id = 'broker' and c.covered"
        )
        return bool(row)

    await eventually(covered, timeout=30)
    assert (await ticketing.open(account="broker")).json()["tier"] == "priority"


async def test_a_refunded_incident_pack_no_longer_gives_credits(
    ticketing: TicketingService,
) -> None:
    order = order_data(sku="BS-SRV-INCIDENT", quantity=2)
    order["buyer"]["account_id"] = "refunded"
    await ticketing.deliver(OrderPlaced.model_validate(order), order["order_id"])
    used = await ticketing.open(account="refunded")
    assert used.json()["tier"] == "per_incident"

    async def credits() -> int:
        async with ticketing.runtime.pool.acquire() as conn:
            return await available_credits(conn, "refunded")

    assert await credits() == 1
    refund = {"order_id": order["order_id"], "refunded_at": ticketing.clock.now().isoformat()}
    other_line = OrderRefunded.model_validate({**refund, "line_ids": ["9"]})
    await ticketing.deliver(other_line, order["order_id"])
    assert await credits() == 1  # another line's refund leaves this pack alone
    await ticketing.deliver(OrderRefunded.model_validate(refund), order["order_id"])
    assert await credits() == 0
    after = await ticketing.open(account="refunded", headers={"idempotency-key": "r2", **ADMIN})
    assert after.json()["tier"] == "basic"
    assert used.json()["number"] != after.json()["number"]
