"""A customer signs in from the emailed link, filters their licenses, deactivates a
machine, downloads the license file and verifies it offline."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
from entitle_dev.stack import Stack
from entitle_events.license_file import verify_license_file

from tests.integration.kafka_tools import read_all

from .browser import Browser, link_in, wait_for_mail
from .conftest import PREFIX
from .shop import activate, licenses_of, line, order, portal_knows, publish_release, unique


def test_sign_in_from_the_email_then_filter_and_search(browser: Browser, stack: Stack) -> None:
    account, email = unique("acct-"), f"{unique('it')}@customer.example"
    order(stack, account, email, "Filter GmbH", [line("BP-SRV", 2), line("BP-DESK", 1, "2")])
    server, _, desk = sorted(licenses_of(stack, account, 3), key=lambda lic: lic["edition"])
    activate(stack, server["key"], "backup-01", unique("fp-"))

    portal_knows(stack, email)
    browser.open("/licenses")  # not signed in: the sign-in page, keeping where to go
    assert "/sign-in" in browser.driver.current_url
    browser.check("sign-in")
    browser.fill("#email", email)
    browser.submit_with("Email me a sign-in link")
    assert "Check your email" in browser.text
    browser.check("sign-in-sent")
    message = wait_for_mail(stack, email, "sign_in")
    link = link_in(message, "/sign-in/link")
    # Internal teams read every topic: the sign-in event there holds no usable link.
    (token,) = parse_qs(urlsplit(link).query)["token"]
    records = asyncio.run(read_all(stack.bootstrap, PREFIX + "portal.sign-ins"))
    assert any(email.encode() in r.value for r in records)
    assert not any(token.encode() in r.value for r in records)
    browser.open(link)
    assert "/sign-in/link" in browser.driver.current_url  # opening it signs nobody in
    browser.check("sign-in-confirm")
    browser.submit_with("Sign in")
    assert browser.driver.current_url.endswith("/licenses")
    text = browser.text
    assert "Backup Pro Server · Perpetual" in text and "Backup Pro Desktop · Perpetual" in text
    assert "You have not purchased licenses of this type" in text  # e.g. the Site edition
    assert "Times are shown in America/New_York" in text  # the viewer's own zone
    browser.check("licenses")

    browser.click("#usage-used")
    browser.submit_with("Apply")
    assert "1 license match." in browser.text
    assert server["key"][:18] in browser.driver.page_source
    browser.check("licenses-filtered")
    browser.open("/licenses")
    browser.fill("#q", desk["key"][:30])
    browser.submit_with("Apply")
    assert "1 license match." in browser.text
    assert desk["key"][:18] in browser.driver.page_source

    # The link works once; a forged one shows a page too, and neither signs in.
    browser.open(link)
    assert "This sign-in link was already used." in browser.text
    assert "SIGN_IN_LINK_USED" in browser.text
    browser.check("sign-in-link-used")
    browser.open("/sign-in/link?token=forged")
    assert "SIGN_IN_LINK_INVALID" in browser.text


def test_a_license_page_deactivates_and_downloads_a_verifiable_file(
    browser: Browser, stack: Stack
) -> None:
    account, email = unique("acct-"), f"{unique('ops')}@customer.example"
    order(stack, account, email, "Machines AG", [line("BP-SRV")])
    (lic,) = licenses_of(stack, account, 1)
    fingerprint = unique("fp-")
    activate(stack, lic["key"], "db-server-07", fingerprint)
    publish_release(stack, f"5.{int(time.time()) % 100000}.0")
    delivered = wait_for_mail(stack, email, "license_delivered")
    browser.sign_in(email)
    browser.open(link_in(delivered, "/licenses/"))  # the license email's link
    text = browser.text
    assert lic["key"] in text and "db-server-07" in text
    assert "Complimentary" in text and "entitled" in text
    # Covered now: renewing early costs less, and the page says how much and until when.
    assert "Renewing today costs" in text and "early-renewal discount" in text
    assert "Renew in the shop" in text
    browser.check("license")

    browser.click("button[aria-label='Deactivate db-server-07']", navigates=True)
    assert "The machine was deactivated" in browser.text
    assert "db-server-07" not in browser.text
    browser.check("license-deactivated")

    browser.click("a[href$='/file']")
    deadline = time.monotonic() + 20
    while not list(browser.downloads.glob("license-*.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    (downloaded,) = browser.downloads.glob("license-*.json")
    keys = httpx.get(f"{stack.url('licensing')}/.well-known/entitle-signing-key").json()["keys"]
    payload = verify_license_file(
        json.loads(downloaded.read_text()),
        {k["kid"]: k["public_key"] for k in keys},
        datetime.now(UTC),
    )
    assert payload["key"] == lic["key"] and payload["activations"] == []

    # The installed product fetches the same file with nothing but its key.
    with httpx.Client(timeout=10) as client:
        own = client.get(f"{stack.url('licensing')}/licenses/{lic['key']}/file")
        assert own.status_code == 200
        assert own.json()["payload"]["license_id"] == payload["license_id"]
        forged = client.get(f"{stack.url('licensing')}/licenses/{lic['key'][:-4]}AAAA/file")
        assert forged.status_code == 404


def test_a_person_of_two_accounts_picks_one_and_buys_in_the_shop(
    browser: Browser, stack: Stack
) -> None:
    email = f"{unique('owner')}@twofirms.example"
    first, second = unique("acct-"), unique("acct-")
    order(stack, first, email, "First Firm", [line("BP-SRV")])
    order(stack, second, email, "Second Firm", [line("BP-DESK")])
    licenses_of(stack, first, 1)
    licenses_of(stack, second, 1)
    browser.open("/")
    browser.check("home")
    browser.sign_in(email)
    assert "Which account?" in browser.text  # after sign-in, before any license page
    browser.check("accounts")
    browser.click(f"input[value='{second}']")
    browser.submit_with("Continue")
    assert browser.driver.current_url.endswith("/licenses")
    assert "Second Firm" in browser.text and "First Firm" not in browser.text
    browser.open("/accounts")
    browser.click(f"input[value='{first}']")
    browser.submit_with("Continue")
    assert "First Firm" in browser.text and "Second Firm" not in browser.text

    with browser.http() as http:
        to_shop = http.get("/buy", params={"sku": "BP-SRV", "quantity": "3"})
        assert to_shop.status_code == 303
        assert to_shop.headers["location"].endswith("?sku=BP-SRV&quantity=3")
        assert http.get("/buy", params={"sku": "NOPE"}).status_code == 404

    browser.open("/preferences")
    browser.check("preferences")
    browser.select("#zone", "Asia/Tokyo")
    browser.submit_with("Save")
    assert "Times are shown in Asia/Tokyo" in browser.text


def test_a_release_the_license_is_not_entitled_to_says_why_and_why_renewal_cannot_help(
    browser: Browser, stack: Stack
) -> None:
    account, email = unique("acct-"), f"{unique('old')}@customer.example"
    # Bought for version 4: the plan covers version 5 and later only.
    order(stack, account, email, "Altbestand KG", [{**line("BP-SRV"), "major_version": 4}])
    (lic,) = licenses_of(stack, account, 1)
    publish_release(stack, f"5.{int(time.time()) % 100000 + 1}.0")
    browser.sign_in(email)
    deadline = time.monotonic() + 60
    while True:  # maintenance learns of the license and the release from their events
        browser.open(f"/licenses/{lic['key']}")
        text = browser.text
        if "not entitled, because" in text or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert "not entitled, because" in text, text
    assert "Renewal is not possible" in text, text
    browser.check("license-not-entitled")
