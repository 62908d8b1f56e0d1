"""The support desk in a real Chromium against the whole stack: desk accounts made with
`entitle agents add`, sign-in by the emailed link or by password, every ticket action."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from entitle_dev.stack import Stack

from tests.e2e.conftest import mails
from tests.e2e.portal.browser import Browser, chromium_or_skip, launch, link_in
from tests.e2e.portal.shop import admin


@pytest.fixture
def browser(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """A fresh Chromium (own profile: no cookies) on the stack's portal."""
    chromium_or_skip()
    yield from launch(stack, tmp_path_factory.mktemp("chromium"))


def agents_command(stack: Stack, *args: str, password: str | None = None) -> str:
    """`entitle agents ...` against the stack's portal, as an operator runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "entitle_cli.main", "agents", *args],
        env=stack.service_env("portal"),
        input=f"{password}\n{password}\n" if password else None,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def desk_sign_in(browser: Browser, email: str) -> None:
    """Sign in to the desk as an agent does: ask for a link, open the email, press Sign in."""
    before = {m["Message-ID"] for m in mails(browser.stack.mail_dir)}
    browser.open("/desk/sign-in")
    browser.fill("#email", email)
    browser.submit_with("Email me a sign-in link")
    assert "Check your email" in browser.text
    message = browser.mail(email, "sign_in", lambda m: m["Message-ID"] not in before)
    assert "support desk" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    browser.open(link_in(message, "/desk/sign-in/link"))
    browser.submit_with("Sign in")


def api(stack: Stack, method: str, service: str, path: str, **kw: Any) -> Any:
    with httpx.Client(timeout=15) as client:
        answer = client.request(method, f"{stack.url(service)}{path}", headers=admin(stack), **kw)
    assert answer.status_code < 300, answer.text
    return answer.json()


def covered_until(stack: Stack, key: str) -> str | None:
    """When maintenance says the license's cover ends; None until maintenance knows the
    license (it learns of it from licensing's event, a moment after the license exists)."""
    with httpx.Client(timeout=15) as client:
        answer = client.get(f"{stack.url('maintenance')}/coverage/{key}", headers=admin(stack))
    if answer.status_code == 404:
        return None
    assert answer.status_code < 300, answer.text
    ends: str | None = answer.json()["ends_at"]
    return ends


def open_ticket(stack: Stack, account: str, email: str, subject: str, **fields: Any) -> str:
    body = {
        "account_id": account,
        "email": email,
        "product": "backup-pro",
        "version": "5.1.0",
        "kind": "technical",
        "subject": subject,
        "body": "The nightly job stops at 40 % with error E42.",
        **fields,
    }
    # Every account here bought a license with a plan: wait until ticketing's projection of
    # the license and its coverage gives it priority support, as a customer would see it.
    options = {"account": account, "product": body["product"], "version": body["version"]}
    eventually(
        lambda: (
            api(stack, "GET", "ticketing", "/support-options", params=options)["tier"] == "priority"
        ),
        what=f"priority support for {account}",
    )
    number: str = api(stack, "POST", "ticketing", "/tickets", json=body)["number"]
    return number


def eventually(check: Callable[[], Any], timeout: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not after {timeout}s: {what}")
        time.sleep(0.3)


def mails_to(stack: Stack, email: str) -> list[EmailMessage]:
    return [m for m in mails(stack.mail_dir) if m["To"] == email]


def text_of(message: EmailMessage) -> str:
    """Subject, plain text and HTML of a message, decoded."""
    parts = [str(message["Subject"])]
    for kind in ("plain", "html"):
        body = message.get_body((kind,))
        if body is not None:
            parts.append(body.get_content())  # type: ignore[attr-defined]
    return "\n".join(parts)


def set_clock(stack: Stack, to: datetime | None) -> None:
    """Move every service's clock so that it reads `to` now (None: the real time again)."""
    from datetime import UTC

    offset = timedelta() if to is None else to - datetime.now(UTC)
    stack.clock_file.write_text(str(offset.total_seconds()))
    time.sleep(0.05)  # a later write must change the file's mtime, which the clocks watch
