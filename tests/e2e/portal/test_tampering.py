"""What one account's session cannot do: see another account's license or ticket (the
services refuse the portal's token, the page answers 404), post a form without its CSRF
token, or keep a session after signing out."""

from __future__ import annotations

import httpx
from entitle_dev.stack import Stack

from .browser import Browser
from .shop import admin, licenses_of, line, order, supported_version, unique


def test_urls_of_another_account_answer_404_and_forms_need_their_token(
    browser: Browser, stack: Stack
) -> None:
    mine, my_email = unique("acct-"), f"{unique('me')}@customer.example"
    theirs, their_email = unique("acct-"), f"{unique('them')}@other.example"
    order(stack, mine, my_email, "Mine GmbH", [line("BP-SRV")])
    order(stack, theirs, their_email, "Theirs GmbH", [line("BP-SRV")])
    (my_license,) = licenses_of(stack, mine, 1)
    (their_license,) = licenses_of(stack, theirs, 1)
    with httpx.Client(timeout=10) as client:
        opened = client.post(
            f"{stack.url('ticketing')}/tickets",
            json={
                "account_id": theirs,
                "email": their_email,
                "product": "backup-pro",
                "version": supported_version(stack),
                "kind": "technical",
                "subject": "Theirs",
                "body": "Private",
            },
            headers=admin(stack),
        )
        assert opened.status_code == 201, opened.text
    their_ticket = opened.json()["number"]

    browser.sign_in(my_email)
    browser.open(f"/licenses/{their_license['key']}")
    assert "LICENSE_NOT_FOUND" in browser.text and "Theirs GmbH" not in browser.text
    browser.check("not-found")
    with browser.http() as http:
        for path in (
            f"/licenses/{their_license['key']}",
            f"/licenses/{their_license['key']}/file",
            f"/tickets/{their_ticket}",
            f"/tickets/{their_ticket}/survey",
        ):
            answer = http.get(path)
            assert answer.status_code == 404, path
            assert "Theirs" not in answer.text and "Private" not in answer.text
        assert http.get(f"/licenses/{my_license['key']}").status_code == 200

        # A form posted without its CSRF token is refused, and changes nothing.
        browser.open("/support/new")
        refused = http.post(
            "/support/new",
            data={
                "product": "backup-pro",
                "version": supported_version(stack),
                "subject": "x",
                "body": "y",
            },
        )
        assert refused.status_code == 403 and "CSRF_TOKEN_INVALID" in refused.text
        forged = http.post(f"/tickets/{their_ticket}/close", data={"csrf_token": browser.csrf()})
        assert forged.status_code == 404
        assert http.post("/sign-out", data={"csrf_token": "0" * 64}).status_code == 403

    # Signed out, the same cookie opens nothing.
    cookies = browser.cookies()
    browser.open("/licenses")
    browser.click("form[action='/sign-out'] button", navigates=True)
    assert "You are signed out." in browser.text
    stale = httpx.get(
        f"{stack.url('portal')}/licenses", cookies=cookies, follow_redirects=False, timeout=10
    )
    assert stale.status_code == 303 and "/sign-in" in stale.headers["location"]
