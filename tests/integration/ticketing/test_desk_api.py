"""What the support desk reads and does through ticketing's API: who did what, internal
notes, assignment, the queue by SLA deadline, the license a ticket names, the entitlement
panel, and tiers that follow a renewal or a lapse while the ticket is open."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from entitle_events.common import CoveragePeriod
from entitle_events.licensing import ReleasePublished
from entitle_events.maintenance import CoverageExtended, CoverageLapsed

from services.licensing.domain.keys import generate_private_key
from services.runtime.auth import STAFF_SCOPES, AccessTokenIssuer, public_key_of
from services.ticketing.handlers.entitlement import review_due
from tests.infra import Infra

from .conftest import ACME, ADMIN, NOW, PRODUCT, TicketingService, running

BERLIN = ZoneInfo("Europe/Berlin")
ALICE = "alice@vendor.example"


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)


async def _open(ticketing: TicketingService, account: str = "acme", **fields: Any) -> str:
    opened = await ticketing.open(account=account, **fields)
    assert opened.status_code == 201, opened.text
    number: str = opened.json()["number"]
    return number


async def _get(ticketing: TicketingService, path: str, headers: dict[str, str] = ADMIN) -> Any:
    response = await ticketing.client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_every_action_names_its_actor_and_notes_stay_internal(
    ticketing: TicketingService,
) -> None:
    await ticketing.buy_license("acme")
    number = await _open(ticketing)
    reply = await ticketing.post(
        number, "comments", {"author": "agent", "body": "Looking into it", "actor": ALICE}
    )
    assert reply.status_code == 200
    note = await ticketing.post(
        number, "notes", {"body": "Customer runs an unsupported NAS", "actor": ALICE}
    )
    assert note.status_code == 200, note.text
    assign = await ticketing.post(number, "assign", {"assignee": ALICE, "actor": ALICE})
    again = await ticketing.post(number, "assign", {"assignee": ALICE, "actor": ALICE})
    assert again.json()["assignee"] == ALICE
    solved = await ticketing.post(number, "solve", {"actor": "bob@vendor.example"})
    assert solved.json()["status"] == "solved"
    assert assign.json()["assignee"] == ALICE

    timeline = (await _get(ticketing, f"/tickets/{number}/timeline"))["items"]
    assert [(e["type"], e["actor"], e["visibility"]) for e in timeline] == [
        ("opened", "it@acme.example", "public"),
        ("responded", ALICE, "public"),
        ("note", ALICE, "internal"),
        ("assigned", ALICE, "internal"),
        ("solved", "bob@vendor.example", "public"),
    ]
    assert timeline[-1]["detail"]["status"] == "solved"
    customer = (await _get(ticketing, f"/tickets/{number}/timeline", ACME))["items"]
    assert [e["type"] for e in customer] == ["opened", "responded", "solved"]
    assert "NAS" not in str(await _get(ticketing, f"/tickets/{number}", ACME))

    # The note is an event of its own; the only reply to the customer is the agent's.
    notes = await ticketing.published("entitle.ticketing.ticket.note-added.v1")
    assert [(n["body"], n["actor"]) for n in notes] == [("Customer runs an unsupported NAS", ALICE)]
    responded = await ticketing.published("entitle.ticketing.ticket.responded.v1")
    assert [(r["body"], r["actor"]) for r in responded] == [("Looking into it", ALICE)]
    assigned = await ticketing.published("entitle.ticketing.ticket.assigned.v1")
    assert [(a["assignee"], a["previous_assignee"]) for a in assigned] == [(ALICE, None)]
    solved_events = await ticketing.published("entitle.ticketing.ticket.solved.v1")
    assert [s["actor"] for s in solved_events] == ["bob@vendor.example"]


async def test_customers_cannot_use_the_desk_api(ticketing: TicketingService) -> None:
    await ticketing.buy_license("acme")
    number = await _open(ticketing)
    for method, path, body in (
        ("post", f"/tickets/{number}/notes", {"body": "x"}),
        ("post", f"/tickets/{number}/assign", {"assignee": ALICE}),
        ("get", "/queue", None),
        ("get", f"/tickets/{number}/entitlement", None),
    ):
        response = await ticketing.client.request(method, path, json=body, headers=ACME)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["code"] == "AGENTS_ONLY"
    missing = await ticketing.client.get("/tickets/T-1999-000001/entitlement", headers=ADMIN)
    assert missing.status_code == 404
    assert missing.json()["code"] == "TICKET_NOT_FOUND"


async def test_the_queue_orders_by_the_nearest_deadline_with_states_filters_and_counts(
    ticketing: TicketingService,
) -> None:
    await ticketing.buy_license("acme")
    urgent = await _open(ticketing)  # priority, due Thursday 11:00, at risk from Wed 20:45
    ticketing.clock.set(berlin(18, 12))
    basic = await _open(ticketing, account="small")  # basic, due Thursday 12:00
    ticketing.clock.set(berlin(18, 13))
    waiting = await _open(ticketing)
    await ticketing.post(waiting, "pending", {"body": "Which NAS?"})
    await ticketing.post(basic, "assign", {"assignee": ALICE})

    ticketing.clock.set(berlin(18, 21, 30))
    queue = await _get(ticketing, "/queue")
    assert [(t["number"], t["sla_state"]) for t in queue["items"]] == [
        (urgent, "at_risk"),
        (basic, "on_track"),
        (waiting, "paused"),
    ]
    first = queue["items"][0]["next_deadline"]
    assert first["target"] == "first_response"
    assert datetime.fromisoformat(first["due_at"]) == berlin(19, 11)
    assert first["business_minutes_left"] == 30 + 120
    assert queue["items"][2]["next_deadline"] is None
    assert queue["items"][2]["closes_without_reply_at"] is not None

    ticketing.clock.set(berlin(19, 11, 30))
    queue = await _get(ticketing, "/queue")
    assert [(t["number"], t["sla_state"]) for t in queue["items"]] == [
        (urgent, "breached"),
        (basic, "at_risk"),
        (waiting, "paused"),
    ]
    assert [t["next_deadline"]["business_minutes_left"] for t in queue["items"][:2]] == [-30, 30]
    assert queue["total"] == 3
    counts = queue["counts"]
    assert counts["tier"] == {"basic": 1, "priority": 2}
    assert counts["status"] == {"new": 2, "open": 0, "pending": 1}
    assert counts["sla"]["breached"] == counts["sla"]["at_risk"] == counts["sla"]["paused"] == 1
    assert counts["assignee"] == {ALICE: 1, "none": 2}
    assert counts["product"] == {PRODUCT: 3}

    only_basic = await _get(ticketing, "/queue?tier=basic")
    assert [t["number"] for t in only_basic["items"]] == [basic]
    # A filter's own counts ignore that filter; the others apply it.
    assert only_basic["counts"]["tier"] == {"basic": 1, "priority": 2}
    assert only_basic["counts"]["sla"]["breached"] == 0
    assert only_basic["total"] == 1
    breached = await _get(ticketing, "/queue?sla=breached")
    assert [t["number"] for t in breached["items"]] == [urgent]
    mine = await _get(ticketing, f"/queue?assignee={ALICE}")
    assert [t["number"] for t in mine["items"]] == [basic]
    unassigned = await _get(ticketing, "/queue?assignee=none&status=pending")
    assert [t["number"] for t in unassigned["items"]] == [waiting]
    other_product = await _get(ticketing, "/queue?product=backup-pc")
    assert other_product["items"] == [] and other_product["total"] == 0

    # Answering the breached ticket moves it behind the others' deadlines.
    await ticketing.post(urgent, "comments", {"author": "agent", "body": "On it"})
    queue = await _get(ticketing, "/queue")
    assert [t["number"] for t in queue["items"]] == [basic, urgent, waiting]
    assert queue["items"][1]["next_deadline"]["target"] == "resolution"


async def test_a_named_license_of_the_account_entitles_the_ticket_and_another_is_ignored(
    ticketing: TicketingService,
) -> None:
    covered = await ticketing.buy_license("acme")
    lapsed = await ticketing.buy_license("acme", covered=False)
    foreign = await ticketing.buy_license("other")
    key = {lid: f"KEY-{lid[:8]}" for lid in (covered, lapsed, foreign)}

    by_covered = await ticketing.open(license_key=key[covered])
    assert by_covered.json()["tier"] == "priority"
    # The license named on the ticket decides, even though another one is covered.
    by_lapsed = await ticketing.open(license_key=key[lapsed])
    assert by_lapsed.json()["tier"] == "basic"
    by_foreign = await ticketing.open(license_key=key[foreign])
    assert by_foreign.json()["tier"] == "priority"  # the account's own entitlement
    unknown = await ticketing.open(license_key="KEY-nothing")
    assert unknown.json()["tier"] == "priority"

    number = by_foreign.json()["number"]
    agent = (await _get(ticketing, f"/tickets/{number}/timeline"))["items"]
    assert [(e["type"], e["visibility"]) for e in agent] == [
        ("opened", "public"),
        ("note", "internal"),
    ]
    assert "belongs to another account" in agent[1]["body"]
    assert agent[1]["detail"]["code"] == "other_account"
    customer = (await _get(ticketing, f"/tickets/{number}/timeline", ACME))["items"]
    assert [e["type"] for e in customer] == ["opened"]

    panel = await _get(ticketing, f"/tickets/{number}/entitlement")
    assert panel["license_key"] == {"key": key[foreign], "status": "other_account"}
    assert {lic["license_id"] for lic in panel["licenses"]} == {covered, lapsed}
    assert not any(lic["named_on_ticket"] for lic in panel["licenses"])
    lapsed_panel = await _get(ticketing, f"/tickets/{by_lapsed.json()['number']}/entitlement")
    named = [lic for lic in lapsed_panel["licenses"] if lic["named_on_ticket"]]
    assert [lic["license_id"] for lic in named] == [lapsed]
    assert lapsed_panel["license_key"]["status"] == "verified"

    opened = await ticketing.published("entitle.ticketing.ticket.opened.v1")
    keys = {e["number"]: e["license_key"] for e in opened}
    assert keys[by_covered.json()["number"]] == key[covered]
    assert keys[number] is None  # never passed on
    assert keys[unknown.json()["number"]] is None


async def test_the_entitlement_panel_shows_what_the_customer_is_owed(
    ticketing: TicketingService,
) -> None:
    license_id = await ticketing.buy_license("acme")
    for version, released in (("18.0.0", NOW - timedelta(days=400)), ("19.0.0", NOW)):
        await ticketing.deliver(
            ReleasePublished(
                product=PRODUCT,
                version=version,
                major=int(version[:2]),
                minor=0,
                patch=0,
                released_at=released,
                release_kind="update",
            ),
            PRODUCT,
        )
    number = await _open(ticketing, version="18.4")
    panel = await _get(ticketing, f"/tickets/{number}/entitlement")
    assert panel["tier"]["current"] == panel["tier"]["at_open"] == "priority"
    assert "under maintenance until" in panel["tier"]["reason"]
    (lic,) = panel["licenses"]
    assert (lic["license_id"], lic["kind"], lic["edition"], lic["status"]) == (
        license_id,
        "perpetual",
        "server",
        "active",
    )
    assert lic["coverage"]["status"] == "active"
    assert (lic["coverage"]["plan"], lic["coverage"]["plan_name"]) == (
        "care",
        "Care, one year from purchase",
    )
    assert datetime.fromisoformat(lic["coverage"]["ends_at"]) == NOW + timedelta(days=365)
    assert panel["incident_credits"] == {"granted": 0, "used": 0, "left": 0}
    assert panel["version"]["supported"] is True
    # 18.x is supported until 18 months after 19.0 came out.
    assert datetime.fromisoformat(panel["version"]["supported_until"]).date().isoformat() == (
        "2028-05-18"
    )
    agent = await _get(ticketing, f"/tickets/{number}")
    assert agent["tier_reason"] == panel["tier"]["reason"]


async def test_the_tier_follows_a_renewal_and_a_lapse_and_deadlines_only_come_forward(
    ticketing: TicketingService,
) -> None:
    license_id = await ticketing.buy_license("acme", covered=False)
    key = f"KEY-{license_id[:8]}"
    number = await _open(ticketing)
    opened = await _get(ticketing, f"/tickets/{number}")
    assert opened["tier"] == "basic"

    def due(detail: dict[str, Any], target: str) -> datetime:
        cycle = next(c for c in detail["sla"]["running"] if c["target"] == target)
        return datetime.fromisoformat(cycle["due_at"])

    basic_first, basic_resolution = due(opened, "first_response"), due(opened, "resolution")
    assert basic_resolution == datetime(2026, 12, 2, 11, tzinfo=BERLIN)  # 10 business days

    ticketing.clock.set(berlin(18, 13))
    renewal_end = ticketing.clock.now() + timedelta(days=365)
    ref = {"license_id": license_id, "license_key": key, "product": PRODUCT, "account_id": "acme"}
    await ticketing.deliver(
        CoverageExtended(
            **ref,
            contact_email="it@acme.example",
            plan="care",
            period=CoveragePeriod(
                starts_at=ticketing.clock.now(), ends_at=renewal_end, source="renewal"
            ),
            ends_at=renewal_end,
        ),
        license_id,
    )
    renewed = await _get(ticketing, f"/tickets/{number}")
    assert (renewed["tier"], renewed["tier_at_open"]) == ("priority", "basic")
    assert "under maintenance until" in renewed["tier_reason"]
    # Priority promises 5 business days from the renewal: sooner than basic's 10 days.
    assert due(renewed, "resolution") == berlin(25, 13)
    # Both promise a business day for the first response: the earlier promise stays.
    assert due(renewed, "first_response") == basic_first

    ticketing.clock.set(berlin(18, 14))
    await ticketing.deliver(
        CoverageLapsed(**ref, contact_email="it@acme.example", ended_at=ticketing.clock.now()),
        license_id,
    )
    lapsed = await _get(ticketing, f"/tickets/{number}")
    assert lapsed["tier"] == "basic"
    assert due(lapsed, "resolution") == berlin(25, 13)  # a downgrade never delays

    changes = await ticketing.published("entitle.ticketing.ticket.tier-changed.v1")
    assert [(c["previous_tier"], c["tier"]) for c in changes] == [
        ("basic", "priority"),
        ("priority", "basic"),
    ]
    timeline = [e for e in lapsed["timeline"] if e["type"] == "tier_changed"]
    assert [(e["detail"]["from"], e["detail"]["to"], e["visibility"]) for e in timeline] == [
        ("basic", "priority", "internal"),
        ("priority", "basic", "internal"),
    ]


async def test_a_cover_that_runs_out_without_an_event_lowers_the_tier_on_time(
    ticketing: TicketingService,
) -> None:
    issued, started = ticketing.purchase_events("acme", covered_until=NOW + timedelta(hours=3))
    await ticketing.deliver(issued.data, issued.subject)
    await ticketing.deliver(started.data, started.subject)
    number = await _open(ticketing)
    assert (await _get(ticketing, f"/tickets/{number}"))["tier"] == "priority"
    ticketing.clock.set(NOW + timedelta(hours=3) - timedelta(seconds=1))
    assert await review_due(ticketing.runtime, ticketing.cfg) == 0
    ticketing.clock.set(NOW + timedelta(hours=3))
    assert await review_due(ticketing.runtime, ticketing.cfg) == 1
    assert await review_due(ticketing.runtime, ticketing.cfg) == 0
    assert (await _get(ticketing, f"/tickets/{number}"))["tier"] == "basic"


async def test_a_staff_token_acts_as_its_person_and_a_customer_token_cannot(
    infra: Infra, tmp_path: Path
) -> None:
    key = generate_private_key()
    issuer = AccessTokenIssuer("p1", key, timedelta(minutes=5))
    keys = {"p1": public_key_of(key)}
    async with running(infra, tmp_path, access_token_public_keys=keys) as ticketing:
        await ticketing.buy_license("acme")
        number = await _open(ticketing)
        now = ticketing.clock.now()
        agent = issuer.mint_staff(ALICE, "agent", STAFF_SCOPES["agent"], now)
        as_agent = {"authorization": f"Bearer {agent}"}
        # The token names the person: a body naming someone else changes nothing.
        reply = await ticketing.client.post(
            f"/tickets/{number}/comments",
            json={"author": "agent", "body": "On it", "actor": "mallory@vendor.example"},
            headers=as_agent,
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["timeline"][-1]["actor"] == ALICE
        queue = await ticketing.client.get("/queue", headers=as_agent)
        assert [t["number"] for t in queue.json()["items"]] == [number]
        customer = issuer.mint("it@acme.example", "acme", {"tickets:read", "tickets:write"}, now)
        as_customer = {"authorization": f"Bearer {customer}"}
        refused = await ticketing.client.get("/queue", headers=as_customer)
        assert refused.json()["code"] == "AGENTS_ONLY"
        own = await ticketing.client.post(
            f"/tickets/{number}/comments",
            json={"author": "customer", "body": "Thanks"},
            headers=as_customer,
        )
        assert own.json()["timeline"][-1]["actor"] == "it@acme.example"
