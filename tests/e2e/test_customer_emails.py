"""Every customer-facing event, produced by the real services, ends in its email:
license delivery, rejected order line, maintenance codes, coverage extended,
renewal rejected, license assigned, upgrade available, ticket opened / reply / pending /
solved / closed / rejected, renewal notice and lapsed coverage (time moved forward)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
from entitle_cli.webhook_client import post_order, sample_order
from entitle_dev.stack import Stack

from tests.helpers import wait_until

from .conftest import mails


def mail(stack: Stack, to: str, template: str) -> EmailMessage:
    def find() -> EmailMessage | None:
        return next(
            (
                m
                for m in mails(stack.mail_dir)
                if m["To"] == to and m["X-Entitle-Template"] == template
            ),
            None,
        )

    found = wait_until(find, timeout=90, interval=0.3)
    assert found is not None
    return found


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr, no-any-return]


def test_every_customer_facing_event_produces_its_email(stack: Stack) -> None:
    admin = {"authorization": f"Bearer {stack.secrets.admin_api_key}"}
    account = f"mail-{uuid.uuid4().hex[:8]}"
    to = f"{account}@example.org"
    hook = f"{stack.url('ingress')}/webhooks/orders"
    secret = stack.secrets.webhook_secret
    with httpx.Client(timeout=15) as client:

        def order(**changes: Any) -> dict[str, Any]:
            body = {**sample_order(account=account, email=to), **changes}
            assert post_order(client, hook, secret, body).status_code == 202
            return body

        def line(sku: str, key: str | None = None) -> list[dict[str, Any]]:
            return [
                {
                    "line_id": "1",
                    "sku": sku,
                    "quantity": 1,
                    "unit_price": "59.00",
                    "license_key": key,
                }
            ]

        order()
        key = re.search(r"license key:\s+(\S+)", text_of(mail(stack, to, "license_delivered")))
        assert key
        license_key = key.group(1)

        order(payment_mode="monthly")  # the account pays annually
        assert "first purchase" in text_of(mail(stack, to, "order_line_rejected"))

        order(lines=line("BP-CARE-12"))
        codes = re.findall(r"MC-[A-Z0-9-]+", text_of(mail(stack, to, "maintenance_codes")))
        assert len(codes) == 1
        attached = client.post(
            f"{stack.url('maintenance')}/associations",
            json={"maintenance_code": codes[0], "license_key": license_key},
            headers=admin,
        )
        assert attached.status_code == 201, attached.text
        assert license_key in text_of(mail(stack, to, "coverage_extended"))

        order(lines=line("BP-CARE-12", "not-a-license-key"))
        mail(stack, to, "renewal_rejected")

        reseller = f"{account}-reseller@example.org"
        pooled = {
            "account_id": f"{account}-r",
            "company": "Resell",
            "email": reseller,
            "reseller": True,
        }
        order(buyer=pooled)
        pooled_key = re.search(
            r"license key:\s+(\S+)", text_of(mail(stack, reseller, "license_delivered"))
        )
        assert pooled_key
        customer = f"{account}-customer@example.org"
        assigned = client.post(
            f"{stack.url('licensing')}/licenses/{pooled_key.group(1)}/assign",
            json={"account_id": f"{account}-c", "company": "Customer", "email": customer},
            headers=admin,
        )
        assert assigned.status_code == 200, assigned.text
        assert pooled_key.group(1) in text_of(mail(stack, customer, "license_assigned"))

        major = 6 + int(uuid.uuid4().int % 1000)
        published = client.post(
            f"{stack.url('licensing')}/releases",
            json={
                "product": "backup-pro",
                "version": f"{major}.0.0",
                "released_at": datetime.now(UTC).isoformat(),
            },
            headers=admin,
        )
        assert published.status_code == 201, published.text
        offer = mail(stack, to, "upgrade_available")
        assert offer["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

        # Version 2, released in 2020, discontinued version 1 eighteen months later.
        old_major = client.post(
            f"{stack.url('licensing')}/releases",
            json={
                "product": "backup-pro",
                "version": "2.0.0",
                "released_at": "2020-01-01T00:00:00Z",
            },
            headers=admin,
        )
        assert old_major.status_code in (200, 201, 409), old_major.text
        request = {
            "account_id": account, "email": to, "license_key": license_key,
            "product": "backup-pro", "version": "1.0.0", "kind": "technical",
            "subject": "Backup fails", "body": "Since yesterday the job fails.",
        }  # fmt: skip
        # Ticketing learns of the release from licensing's event: ask until it knows.
        options = {"account": account, "product": "backup-pro", "version": "1.0.0"}
        wait_until(
            lambda: (
                client.get(
                    f"{stack.url('ticketing')}/support-options", params=options, headers=admin
                ).json()["code"]
                == "VERSION_DISCONTINUED"
            ),
            timeout=60,
        )
        refused = client.post(f"{stack.url('ticketing')}/tickets", json=request, headers=admin)
        assert refused.json()["code"] == "VERSION_DISCONTINUED"
        mail(stack, to, "ticket_rejected")
        opened = client.post(
            f"{stack.url('ticketing')}/tickets",
            json={**request, "version": f"{major}.0.0"},
            headers=admin,
        )  # fmt: skip
        assert opened.status_code == 201, opened.text
        number = opened.json()["number"]
        assert number in mail(stack, to, "ticket_opened")["Subject"]
        tickets = f"{stack.url('ticketing')}/tickets/{number}"
        for path, body, template in (
            ("comments", {"author": "agent", "body": "Which version exactly?"}, "ticket_reply"),
            ("pending", {"body": "Please send the log."}, "ticket_pending"),
            ("solve", None, "ticket_solved"),
            ("close", {"by": "agent"}, "ticket_closed"),
        ):
            response = client.post(f"{tickets}/{path}", json=body, headers=admin)
            assert response.status_code == 200, response.text
            assert number in mail(stack, to, template)["Subject"]

        coverage = client.get(f"{stack.url('maintenance')}/coverage/{license_key}", headers=admin)
        ends_at = datetime.fromisoformat(coverage.json()["ends_at"])
        try:
            shift = ends_at - datetime.now(UTC) - timedelta(days=20)
            stack.clock_file.write_text(str(shift.total_seconds()))
            assert license_key in text_of(mail(stack, to, "renewal_notice"))
            stack.clock_file.write_text(str((shift + timedelta(days=21)).total_seconds()))
            assert license_key in text_of(mail(stack, to, "coverage_lapsed"))
        finally:
            stack.clock_file.write_text("0")
