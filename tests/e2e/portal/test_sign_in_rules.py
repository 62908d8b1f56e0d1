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


def ask_link(client: httpx.Client, email: str) -> httpx.Response:
    form = client.get("/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    return client.post("/sign-in", data={"csrf_token": token.group(1), "email": email})


def test_unknown_addresses_get_the_same_answer_and_limits_apply(stack: Stack) -> None:
    account, known = unique("acct-"), f"{unique('known')}@customer.example"
    order(stack, account, known, "Known KG", [line("BP-DESK")])
    licenses_of(stack, account, 1)
    portal_knows(stack, known)
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
    account, email = unique("acct-"), f"{unique('late')}@customer.example"
    order(stack, account, email, "Late SA", [line("BP-DESK")])
    licenses_of(stack, account, 1)
    portal_knows(stack, email)
    with client_from(stack, "127.0.0.4") as client:
        assert ask_link(client, email).status_code == 200
        link = link_in(wait_for_mail(stack, email, "sign_in"), "/sign-in/link")
        try:
            stack.clock_file.write_text(str(timedelta(minutes=16).total_seconds()))
            page = client.get(link)
            assert page.status_code == 410 and "SIGN_IN_LINK_EXPIRED" in page.text
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/sign-in").text)
            assert token
            used = client.post(
                "/sign-in/link",
                data={"csrf_token": token.group(1), "token": link.split("token=")[1]},
                follow_redirects=False,
            )
            assert used.status_code == 410 and "entitle_session" not in used.headers.get(
                "set-cookie", ""
            )
        finally:
            stack.clock_file.write_text("0")


def test_the_session_cookie_is_for_the_server_only(stack: Stack) -> None:
    account, email = unique("acct-"), f"{unique('cookie')}@customer.example"
    order(stack, account, email, "Keks GmbH", [line("BP-DESK")])
    licenses_of(stack, account, 1)
    portal_knows(stack, email)
    with client_from(stack, "127.0.0.5") as client:
        assert ask_link(client, email).status_code == 200
        link = link_in(wait_for_mail(stack, email, "sign_in"), "/sign-in/link")
        confirm = client.get(link)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', confirm.text)
        assert confirm.status_code == 200 and csrf, confirm.text
        signed_in = client.post(
            "/sign-in/link",
            data={"csrf_token": csrf.group(1), "token": link.split("token=")[1]},
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
            form = client.get("/key-status")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert csrf, form.text
            answer = client.post(
                "/key-status", data={"csrf_token": csrf.group(1), "key": "ENT-NOT-A-KEY"}
            )
            statuses.append(answer.status_code)
        assert statuses[:30] == [404] * 30, statuses
        assert statuses[30] == 429 and "KEY_STATUS_RATE_LIMITED" in answer.text
