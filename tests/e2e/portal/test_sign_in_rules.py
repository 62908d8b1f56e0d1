"""Sign-in requests over plain HTTP from other loopback addresses (other clients): limits
per address and per client, the same answer for unknown addresses, links that expire, the
session cookie's attributes, and the key-status limit per client."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from entitle_dev.stack import Stack

from .browser import link_in, wait_for_mail
from .shop import licenses_of, line, order, portal_knows, unique


def client_from(stack: Stack, address: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=stack.url("portal"), transport=transport, timeout=10)


def csrf_of(page: httpx.Response) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    return token.group(1)


def ask_link(client: httpx.Client, email: str) -> httpx.Response:
    return client.post(
        "/sign-in", data={"csrf_token": csrf_of(client.get("/sign-in")), "email": email}
    )


def known_customer(stack: Stack, name: str, company: str) -> str:
    """A customer's address the portal's directory knows (from their order)."""
    account, email = unique("acct-"), f"{unique(name)}@customer.example"
    order(stack, account, email, company, [line("BP-DESK")])
    licenses_of(stack, account, 1)
    portal_knows(stack, email)
    return email


def emailed_link(stack: Stack, client: httpx.Client, email: str) -> str:
    assert ask_link(client, email).status_code == 200
    return link_in(wait_for_mail(stack, email, "sign_in"), "/sign-in/link")


def test_unknown_addresses_get_the_same_answer_and_limits_apply(stack: Stack) -> None:
    known = known_customer(stack, "known", "Known KG")
    unknown = f"{unique('nobody')}@nowhere.example"
    with client_from(stack, "127.0.0.2") as client:
        answers = [ask_link(client, address) for address in (known, unknown)]
        assert [a.status_code for a in answers] == [200, 200]
        assert answers[0].text.replace(known, "X") == answers[1].text.replace(unknown, "X")
        wait_for_mail(stack, known, "sign_in")  # only the known address gets an email
        for _ in range(4):
            assert ask_link(client, unknown).status_code == 200
        limited = ask_link(client, unknown)  # the sixth for one address in 15 minutes
        assert limited.status_code == 429 and "SIGN_IN_RATE_LIMITED" in limited.text
    with client_from(stack, "127.0.0.3") as client:
        statuses = [
            ask_link(client, f"{unique('p')}@nowhere.example").status_code for _ in range(21)
        ]
        assert statuses[:20] == [200] * 20 and statuses[20] == 429  # per client


def test_a_link_expires_after_15_minutes(stack: Stack) -> None:
    email = known_customer(stack, "late", "Late SA")
    with client_from(stack, "127.0.0.4") as client:
        link = emailed_link(stack, client, email)
        try:
            stack.clock_file.write_text(str(timedelta(minutes=16).total_seconds()))
            page = client.get(link)
            assert page.status_code == 410 and "SIGN_IN_LINK_EXPIRED" in page.text
            used = client.post(
                "/sign-in/link",
                data={
                    "csrf_token": csrf_of(client.get("/sign-in")),
                    "token": link.split("token=")[1],
                },
                follow_redirects=False,
            )
            assert used.status_code == 410 and "entitle_session" not in used.headers.get(
                "set-cookie", ""
            )
        finally:
            stack.clock_file.write_text("0")


def test_the_session_cookie_is_for_the_server_only(stack: Stack) -> None:
    email = known_customer(stack, "cookie", "Keks GmbH")
    with client_from(stack, "127.0.0.5") as client:
        link = emailed_link(stack, client, email)
        confirm = client.get(link)
        assert confirm.status_code == 200, confirm.text
        signed_in = client.post(
            "/sign-in/link",
            data={"csrf_token": csrf_of(confirm), "token": link.split("token=")[1]},
            follow_redirects=False,
        )
        assert signed_in.status_code in (302, 303), signed_in.text
        [session] = [
            c for c in signed_in.headers.get_list("set-cookie") if c.startswith("entitle_session=")
        ]
        attributes = {a.strip().split("=")[0].lower() for a in session.split(";")[1:]}
        assert {"httponly", "samesite", "path"} <= attributes, session
        assert "samesite=lax" in session.lower()
        # Served over plain HTTP on localhost here; behind HTTPS the cookie is also Secure.
        assert "secure" not in attributes
        page = client.get("/licenses", follow_redirects=True)
        assert page.status_code == 200 and "/sign-in" not in str(page.url), page.url


def test_key_status_look_ups_are_limited_per_client(stack: Stack) -> None:
    with client_from(stack, "127.0.0.6") as client:
        statuses = []
        for _ in range(31):
            form = {"csrf_token": csrf_of(client.get("/key-status")), "key": "ENT-NOT-A-KEY"}
            answer = client.post("/key-status", data=form)
            statuses.append(answer.status_code)
        assert statuses[:30] == [404] * 30, statuses
        assert statuses[30] == 429 and "KEY_STATUS_RATE_LIMITED" in answer.text
