"""The support desk in a real Chromium: an agent works a ticket from the queue to solved
(the customer's emails read from the real SMTP capture), an at-risk ticket shows its
warning, a renewal changes the entitlement panel, and what agents, admins and customers may
not do. Each page is checked with axe-core and photographed on a desktop and a phone."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import httpx
from entitle_dev.stack import Stack

from services.portal.domain.display import local_date
from tests.e2e.portal.browser import Browser, wait_for_mail
from tests.e2e.portal.shop import licenses_of, line, order, unique

from .conftest import (
    agents_command,
    api,
    covered_until,
    desk_sign_in,
    eventually,
    mails_to,
    open_ticket,
    set_clock,
    text_of,
)

BERLIN = ZoneInfo("Europe/Berlin")


def _row_of(browser: Browser, number: str) -> str:
    for row in browser.all("table.queue tbody tr"):
        if number in row.text:
            return str(row.text)
    raise AssertionError(f"{number} is not in the queue: {browser.text}")


def _zone(browser: Browser) -> ZoneInfo:
    return ZoneInfo(browser.find("html").get_attribute("data-zone"))


def test_an_agent_answers_waits_notes_and_solves_a_new_ticket(
    browser: Browser, stack: Stack
) -> None:
    agent = f"{unique('agent')}@vendor.example"
    assert "is a desk agent" in agents_command(stack, "add", agent, "--role", "agent")
    account, customer = unique("acct-"), f"{unique('cust')}@customer.example"
    order(stack, account, customer, "Nordlicht AG", [line("BP-SRV")])
    licenses_of(stack, account, 1)
    number = open_ticket(stack, account, customer, "Nightly backup stops at 40 %")
    ticket = api(stack, "GET", "ticketing", f"/tickets/{number}")
    assert ticket["tier"] == "priority"

    desk_sign_in(browser, agent)
    assert browser.driver.current_url.endswith("/desk/queue")
    first = browser.all("table.queue tbody tr")[0]
    assert number in first.text and "Nightly backup stops at 40 %" in first.text
    assert "First response due" in first.text and "left" in first.text
    due = datetime.fromisoformat(ticket["first_response_due"])
    zone = _zone(browser)
    assert f"{due.astimezone(zone):%-d %b %Y, %H:%M}" in first.text
    browser.check("desk-queue")

    browser.click(f"a[href='/desk/tickets/{number}']", navigates=True)
    assert "Priority support: license" in browser.text  # why the ticket has its tier
    assert "Covered until" in browser.text
    browser.submit_with("Assign to me")
    assert "The ticket is yours." in browser.text

    # Reply: emailed to the customer, and the first-response clock stops.
    before = len(mails_to(stack, customer))
    browser.fill("#reply-body", "Please update to 5.1.2, it fixes E42.")
    browser.submit_with("Send reply")
    assert "Reply sent to the customer." in browser.text
    reply = wait_for_mail(stack, customer, "ticket_reply")
    assert "Please update to 5.1.2" in text_of(reply)
    assert "First response due" not in browser.text
    sla_rows = [r.text for r in browser.all("table.sla tbody tr")]
    assert not any(r.startswith("First response") for r in sla_rows), sla_rows
    answered = api(stack, "GET", "ticketing", f"/tickets/{number}")
    assert answered["first_response_at"] is not None
    assert [c["target"] for c in answered["sla"]["running"]] == ["resolution"]

    # Waiting for the customer, twice: the second message is contact attempt 2 of 3.
    browser.fill("#pending-body", "Could you send the log of last night's run?")
    browser.submit_with("Send and wait for customer")
    browser.fill("#reply-body", "A reminder: we still need the log.")
    browser.submit_with("Send reply")
    waiting = api(stack, "GET", "ticketing", f"/tickets/{number}")
    assert (waiting["status"], waiting["contact_attempts"]) == ("pending", 2)
    closes = local_date(waiting["sla"]["closes_without_reply_at"], zone)
    assert f"Contact attempt 2 of 3 — closes itself on {closes} without a reply" in browser.text
    wait_for_mail(stack, customer, "ticket_pending", lambda m: "reminder" in text_of(m))
    browser.check("desk-ticket-waiting")

    # An internal note: in the timeline, marked internal, and never emailed.
    browser.fill("#note-body", "Customer runs the NAS firmware 4.2 known to corrupt logs.")
    browser.submit_with("Add internal note")
    assert "Internal note added." in browser.text
    assert "NAS firmware 4.2" in browser.text
    browser.submit_with("Solve")
    assert "Marked as solved." in browser.text
    wait_for_mail(stack, customer, "ticket_solved")
    customer_mail = mails_to(stack, customer)
    assert len(customer_mail) > before
    assert not any("NAS firmware" in text_of(m) for m in customer_mail)
    timeline = api(stack, "GET", "ticketing", f"/tickets/{number}/timeline")["items"]
    actors = {(e["type"], e["actor"]) for e in timeline}
    assert {("responded", agent), ("pending", agent), ("note", agent), ("solved", agent)} <= actors
    browser.check("desk-ticket")
    browser.submit_with("Close")
    assert "Closed." in browser.text
    assert api(stack, "GET", "ticketing", f"/tickets/{number}")["status"] == "closed"
    wait_for_mail(stack, customer, "ticket_closed")


def _next_quiet_wednesday() -> date:
    """A Wednesday at least two days ahead; neither it nor the Tuesday before a holiday."""
    day = datetime.now(BERLIN).date() + timedelta(days=2)
    german = holidays.country_holidays("DE")
    while day.weekday() != 2 or day in german or day - timedelta(days=1) in german:
        day += timedelta(days=1)
    return day


def test_an_at_risk_ticket_shows_its_warning_and_the_assignee_is_emailed(
    browser: Browser, stack: Stack
) -> None:
    agent = f"{unique('agent')}@vendor.example"
    agents_command(stack, "add", agent, "--role", "agent")
    account, customer = unique("acct-"), f"{unique('risk')}@customer.example"
    order(stack, account, customer, "Risiko GmbH", [line("BP-SRV")])
    licenses_of(stack, account, 1)
    wednesday = datetime.combine(_next_quiet_wednesday(), time(10), tzinfo=BERLIN)
    try:
        # A queue with every state: one ticket overdue since Wednesday morning, one about
        # to be, one with time left, one waiting on the customer.
        set_clock(stack, wednesday - timedelta(days=1))
        late = open_ticket(stack, account, customer, "Licence moved to the new server?")
        set_clock(stack, wednesday)
        number = open_ticket(stack, account, customer, "Restore is very slow")
        api(
            stack,
            "POST",
            "ticketing",
            f"/tickets/{number}/assign",
            json={"assignee": agent, "actor": agent},
        )
        set_clock(stack, wednesday.replace(hour=18))
        calm = open_ticket(stack, account, customer, "Which ports does the agent use?")
        waiting = open_ticket(stack, account, customer, "Backup to tape drive")
        api(stack, "POST", "ticketing", f"/tickets/{waiting}/pending", json={"body": "Model?"})
        (first, _) = api(stack, "GET", "ticketing", f"/tickets/{number}")["sla"]["running"]
        warn_at = datetime.fromisoformat(first["warn_at"])
        # A quarter of the business day before Thursday 10:00: Wednesday 19:45.
        assert abs(warn_at - wednesday.replace(hour=19, minute=45)) < timedelta(seconds=30)
        set_clock(stack, warn_at + timedelta(minutes=1))

        def warned() -> bool:
            items = api(stack, "GET", "ticketing", f"/tickets/{number}/timeline")["items"]
            return any(e["type"] == "sla_warning" for e in items)

        eventually(warned, what="the SLA warning")
        email = wait_for_mail(stack, agent, "agent_sla_warning")
        assert number in email["Subject"]
        desk_sign_in(browser, agent)
        order_shown = [n for n in (late, number, calm, waiting) if n in browser.text]
        rows = [r.text for r in browser.all("table.queue tbody tr")]
        mine = [r for r in rows if any(n in r for n in order_shown)]
        assert [next(n for n in order_shown if n in r) for r in mine] == [
            late,
            number,
            calm,
            waiting,
        ]
        assert "Breached" in mine[0] and "overdue by" in mine[0]
        assert "At risk" in mine[1] and "First response due" in mine[1]
        assert "At risk" not in mine[2] and "left" in mine[2]
        assert "Waiting for the customer" in mine[3]
        browser.check("desk-queue-at-risk")
        browser.open(f"/desk/tickets/{number}")
        assert "SLA warning: First response is due" in browser.text
        assert "At risk" in browser.text
        browser.check("desk-ticket-at-risk")
    finally:
        set_clock(stack, None)


def test_the_queue_refreshes_itself_without_a_reload(browser: Browser, stack: Stack) -> None:
    agent = f"{unique('agent')}@vendor.example"
    agents_command(stack, "add", agent, "--role", "agent")
    account, customer = unique("acct-"), f"{unique('poll')}@customer.example"
    order(stack, account, customer, "Polling OÜ", [line("BP-SRV")])
    licenses_of(stack, account, 1)
    desk_sign_in(browser, agent)
    browser.driver.execute_script("window.deskPageMarker = 'still the same page';")
    number = open_ticket(stack, account, customer, "Appeared while the queue was open")

    def shown() -> bool:
        return number in browser.find("#queue-table").text

    eventually(shown, timeout=45, what="the new ticket in the open queue")
    marker = browser.driver.execute_script("return window.deskPageMarker || null;")
    assert marker == "still the same page"  # swapped in by the polling, not a page load
    browser.open("/desk/queue?assignee=me")  # a new agent has no ticket yet
    assert "No ticket matches these filters." in browser.find("#queue-table").text


def test_the_entitlement_panel_follows_a_renewal_order(browser: Browser, stack: Stack) -> None:
    agent = f"{unique('agent')}@vendor.example"
    agents_command(stack, "add", agent, "--role", "agent")
    account, customer = unique("acct-"), f"{unique('renew')}@customer.example"
    order(stack, account, customer, "Erneuerung KG", [line("BP-SRV")])
    (lic,) = licenses_of(stack, account, 1)
    cover = eventually(
        lambda: covered_until(stack, lic["key"]),
        what="the complimentary cover",
    )
    number = open_ticket(stack, account, customer, "Does my cover include 6.0?")
    desk_sign_in(browser, agent)
    browser.open(f"/desk/tickets/{number}")
    zone = _zone(browser)
    before_end = local_date(cover, zone)
    panel = browser.find("aside.panel").text
    assert f"Covered until {before_end}" in panel
    browser.check("desk-panel-before-renewal")

    order(stack, account, customer, "Erneuerung KG", [line("BP-CARE-12", key=lic["key"])])

    def renewed() -> str | None:
        ends = covered_until(stack, lic["key"])
        return ends if ends != cover else None

    renewed_end = eventually(renewed, what="the renewal")
    new_end = local_date(renewed_end, zone)

    def panel_followed() -> bool:
        shown = api(stack, "GET", "ticketing", f"/tickets/{number}/entitlement")
        ends = shown["licenses"][0]["coverage"]["ends_at"]
        return ends is not None and datetime.fromisoformat(ends) == datetime.fromisoformat(
            renewed_end
        )

    eventually(panel_followed, what="the panel following the renewal")
    browser.open(f"/desk/tickets/{number}")
    panel = browser.find("aside.panel").text
    assert f"Covered until {new_end}" in panel and before_end not in panel
    assert "Plan: Backup Care, 12 months" in panel
    browser.check("desk-panel-after-renewal")


def test_who_may_open_what(browser: Browser, stack: Stack) -> None:
    agent = f"{unique('agent')}@vendor.example"
    agents_command(stack, "add", agent, "--role", "agent")
    account, customer = unique("acct-"), f"{unique('who')}@customer.example"
    order(stack, account, customer, "Zugriff SE", [line("BP-SRV")])
    licenses_of(stack, account, 1)
    number = open_ticket(stack, account, customer, "Access question")

    # A customer session never opens a desk page.
    browser.sign_in(customer)
    browser.open("/desk/queue")
    assert "AREA_FORBIDDEN" in browser.text and number not in browser.text
    with browser.http() as http:
        for path in ("/desk/queue", f"/desk/tickets/{number}", "/desk/admin"):
            assert http.get(path).status_code == 403, path
    browser.driver.delete_all_cookies()

    # An agent works tickets only: the admin pages refuse, and so do the services.
    desk_sign_in(browser, agent)
    browser.open("/desk/admin/licenses")
    assert "ROLE_FORBIDDEN" in browser.text
    with browser.http() as http:
        assert http.get("/desk/admin/operations").status_code == 403
        browser.open(f"/desk/tickets/{number}")
        refused = http.post(f"/desk/tickets/{number}/reply", data={"body": "no token"})
        assert refused.status_code == 403 and "CSRF_TOKEN_INVALID" in refused.text
        assert http.get("/desk/tickets/T-1999-000001").status_code == 404
    assert "no token" not in str(api(stack, "GET", "ticketing", f"/tickets/{number}"))


def test_an_admin_signs_in_by_password_and_runs_the_admin_pages(
    browser: Browser, stack: Stack
) -> None:
    admin_email = f"{unique('admin')}@vendor.example"
    password = "correct horse battery staple"
    agents_command(stack, "add", admin_email, "--role", "admin", "--password", password=password)
    browser.open("/desk/sign-in")
    browser.fill("#password-email", admin_email)
    browser.fill("#password", "not the password at all")
    browser.submit_with("Sign in with password")
    assert "SIGN_IN_FAILED" in browser.text
    browser.fill("#password-email", admin_email)
    browser.fill("#password", password)
    browser.submit_with("Sign in with password")
    assert browser.driver.current_url.endswith("/desk/queue")
    browser.open("/desk/admin")
    browser.check("desk-admin")

    # Desk accounts: an admin adds an agent on the page.
    newcomer = f"{unique('new')}@vendor.example"
    browser.open("/desk/admin/agents")
    browser.fill("#agent-email", newcomer)
    browser.submit_with("Save account")
    assert "The desk account is saved." in browser.text and newcomer in browser.text
    browser.check("desk-admin-agents")

    # A release, through licensing's POST /releases.
    browser.open("/desk/admin/releases")
    browser.fill("#rel-version", "5.9.0")
    browser.submit_with("Publish release")
    assert "The release is published." in browser.text and "5.9.0" in browser.text
    browser.check("desk-admin-releases")

    # A license by the customer's email: suspend, then reinstate.
    account, customer = unique("acct-"), f"{unique('lic')}@customer.example"
    order_id = order(stack, account, customer, "Lizenz AG", [line("BP-SRV")])
    (lic,) = licenses_of(stack, account, 1)
    browser.open(f"/desk/admin/licenses?by=email&q={customer}")
    assert lic["key"][:24] in browser.text
    browser.fill("#reason-1", "payment disputed")
    browser.submit_with("Suspend")
    assert "Suspended." in browser.text
    assert api(stack, "GET", "licensing", f"/licenses/{lic['key']}")["status"] == "suspended"
    browser.check("desk-admin-licenses")
    browser.submit_with("Reinstate")
    assert api(stack, "GET", "licensing", f"/licenses/{lic['key']}")["status"] == "active"

    # The same license by its order and by its key; revoked, it can change no more.
    browser.open(f"/desk/admin/licenses?by=order&q={order_id}")
    assert lic["key"][:24] in browser.text
    browser.open(f"/desk/admin/licenses?by=key&q={lic['key']}")
    assert lic["key"][:24] in browser.text
    browser.fill("#reason-1", "chargeback")
    browser.submit_with("Revoke")
    assert "Revoked" in browser.text and "cannot change any more" in browser.text
    assert api(stack, "GET", "licensing", f"/licenses/{lic['key']}")["status"] == "revoked"

    # Dead letters per service, and a replay; each consumer group's lag.
    import asyncio

    from tests.integration.kafka_tools import produce

    asyncio.run(produce(stack.bootstrap, "commerce.orders", [(b"bad", b"not an event", [])]))

    def dead_letter() -> bool:
        return bool(api(stack, "GET", "ticketing", "/dead-letters")["items"])

    eventually(dead_letter, what="ticketing's dead letter")
    browser.open("/desk/admin/operations")
    assert "Consumer groups" in browser.text and "undecodable record" in browser.text
    assert re.search(r"ticketing \(ticketing\)\s+\d+", browser.text)
    browser.check("desk-admin-operations")
    letter = api(stack, "GET", "ticketing", "/dead-letters")["items"][0]
    browser.find(f"#dlt-ticketing-{letter['id']}").click()
    browser.click("form[action='/desk/admin/operations/ticketing/replay'] button", navigates=True)
    assert "1 dead letter replayed to the original topic." in browser.text
    replayed = api(stack, "GET", "ticketing", "/dead-letters?include_replayed=true")["items"]
    assert any(d["id"] == letter["id"] and d["replayed_at"] for d in replayed)
    with httpx.Client(timeout=10) as client:
        assert client.get(f"{stack.url('ticketing')}/dead-letters").status_code == 401
