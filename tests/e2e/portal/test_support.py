"""A support request from the portal, and every link of every ticket email: opened,
answered by an agent, waiting, solved, closed, reopened, surveyed; the unsubscribe link."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage

import httpx
from entitle_dev.stack import Stack

from .browser import Browser, links_in, wait_for_mail
from .shop import admin, licenses_of, line, order, publish_release, supported_version, unique


def _agent(stack: Stack, number: str, command: str, body: dict[str, str] | None = None) -> None:
    with httpx.Client(timeout=10) as client:
        answer = client.post(
            f"{stack.url('ticketing')}/tickets/{number}/{command}", json=body, headers=admin(stack)
        )
    assert answer.status_code == 200, answer.text


def _portal_links(stack: Stack, message: EmailMessage) -> list[str]:
    found = [u for u in links_in(message) if u.startswith(stack.url("portal"))]
    assert found, f"{message['X-Entitle-Template']} has no portal link"
    return found


def test_a_request_from_submission_to_survey(browser: Browser, stack: Stack) -> None:
    account, email = unique("acct-"), f"{unique('help')}@customer.example"
    order(stack, account, email, "Helpdesk Oy", [line("BP-SRV")])
    licenses_of(stack, account, 1)
    browser.sign_in(email, next_path="/support")
    assert "You have not submitted any support request yet." in browser.text
    browser.check("support-empty")

    browser.open("/support/new")
    browser.fill("#version", supported_version(stack))
    browser.select("#kind", "restore")
    browser.submit_with("Check what support I get")
    assert "You get Priority support" in browser.text and "a first answer by" in browser.text
    browser.check("support-new-checked")
    browser.fill("#subject", "Restore of last night's backup fails")
    browser.fill("#body", "The restore stops at 40 % with error E42.")
    browser.submit_with("Submit request")
    assert "Your request was received." in browser.text
    number = re.search(r"T-\d{4}-\d{6}", browser.text).group(0)  # type: ignore[union-attr]
    browser.check("ticket-new")

    seen: list[str] = []

    def follow(template: str, expect: str) -> EmailMessage:
        message = wait_for_mail(
            stack,
            email,
            template,
            lambda m: number in m["Subject"] or number in str(m.get_body(("plain",)).get_content()),
        )  # type: ignore[union-attr]
        for url in _portal_links(stack, message):
            browser.open(url)
            assert expect in browser.text, f"{template}: {url}"
            assert "PAGE_NOT_FOUND" not in browser.text
            seen.append(template)
        return message

    follow("ticket_opened", number)
    browser.fill("#comment", "It also happens with yesterday's backup.")
    browser.submit_with("Add comment")
    assert "Your comment was added." in browser.text

    _agent(stack, number, "comments", {"author": "agent", "body": "Which version exactly?"})
    follow("ticket_reply", "Which version exactly?")
    _agent(stack, number, "pending", {"body": "Please send the log file."})
    follow("ticket_pending", "Please send the log file.")
    _agent(stack, number, "solve")
    follow("ticket_solved", number)
    browser.open(f"/tickets/{number}")
    browser.submit_with("Close request")
    assert "The request is closed." in browser.text
    browser.check("ticket-closed")

    closed = wait_for_mail(
        stack, email, "ticket_closed", lambda m: number in str(m.get_body(("plain",)).get_content())
    )  # type: ignore[union-attr]
    reopen_link, survey_link = _portal_links(stack, closed)
    browser.open(reopen_link)
    assert "not a new support issue" in browser.text
    browser.fill("#reopen-body", "The restore fails again after the fix.")
    browser.click("#not_new")
    browser.submit_with("Reopen")
    assert "The request is open again." in browser.text
    assert "The restore fails again after the fix." in browser.text
    browser.check("ticket-reopened")

    browser.open(f"/tickets/{number}")
    browser.submit_with("Close request")
    browser.open(survey_link)
    browser.check("survey")
    browser.click("#rating-5")
    browser.fill("#survey-comment", "Quick and clear.")
    browser.submit_with("Send answer")
    assert "Thank you for your answer." in browser.text
    browser.open(survey_link)
    assert "You rated this request 5 of 5" in browser.text  # answered once
    browser.open("/support")
    assert number in browser.text
    browser.check("support-list")
    assert {"ticket_opened", "ticket_reply", "ticket_pending", "ticket_solved"} <= set(seen)


def test_a_refused_request_shows_where_to_go_and_the_unsubscribe_link_works(
    browser: Browser, stack: Stack
) -> None:
    account, email = unique("acct-"), f"{unique('it')}@customer.example"
    order(stack, account, email, "Offers BV", [line("BP-SRV")])
    (lic,) = licenses_of(stack, account, 1)
    browser.sign_in(email, next_path="/support/new")
    browser.fill("#version", supported_version(stack))
    browser.select("#kind", "setup")
    browser.submit_with("Check what support I get")
    assert "SETUP_NOT_INCLUDED" in browser.text and "Where to go instead" in browser.text
    browser.check("support-new-refused")

    # Version 2 came out in 2020: version 1's support ended eighteen months later.
    publish_release(stack, "2.0.0", released_at=datetime(2020, 1, 1, tzinfo=UTC))
    deadline = time.monotonic() + 60
    while True:  # ticketing learns of the release from licensing's event
        browser.open("/support/new")
        browser.fill("#version", "1.0.0")
        browser.submit_with("Check what support I get")
        if "VERSION_DISCONTINUED" in browser.text or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert "VERSION_DISCONTINUED" in browser.text, browser.text

    major = 6 + uuid.uuid4().int % 100000
    publish_release(stack, f"{major}.0.0")
    offer = wait_for_mail(stack, email, "upgrade_available")
    for url in _portal_links(stack, offer):
        browser.open(url)
        assert lic["key"] in browser.text
    unsubscribe = offer["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith(stack.url("portal") + "/unsubscribe?")
    browser.open(unsubscribe)
    assert "Stop upgrade offers?" in browser.text
    browser.check("unsubscribe")
    browser.submit_with("Unsubscribe")
    assert "You are unsubscribed" in browser.text
    browser.check("unsubscribed")
    # A mail client's one-click POST (RFC 8058) works the same, without a browser.
    assert httpx.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    tampered = unsubscribe.replace("token=", "token=0")
    assert httpx.post(tampered).status_code == 404
