"""A signed order webhook, through Kafka and three services, to an email (separate processes,
real broker, real PostgreSQL, real SMTP server)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import time
import uuid
from datetime import datetime
from typing import Any

import asyncpg
import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from dateutil.relativedelta import relativedelta
from entitle_cli.webhook_client import post_order, sample_order, signed_headers
from entitle_dev.stack import Stack
from entitle_events.kafka import header

from services.runtime.db import with_database
from tests.helpers import eventually, wait_until
from tests.integration.kafka_tools import produce, read_all
from tests.otlp_receiver import OtlpReceiver, ReceivedSpan

from .conftest import mails_for, webhook


def admin(stack: Stack) -> dict[str, str]:
    return {"authorization": f"Bearer {stack.secrets.admin_api_key}"}


def license_key_in(text: str) -> str:
    match = re.search(r"license key:\s+(\S+)", text)
    assert match, text
    return match.group(1)


def verify_offline(key: str, public_keys: dict[str, str]) -> dict[str, Any]:
    """What an installed product does: check the signature with the published key only."""
    payload_b64, signature_b64 = key.split(".")
    payload = base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4))
    signature = base64.urlsafe_b64decode(signature_b64 + "=" * (-len(signature_b64) % 4))
    claims: dict[str, Any] = json.loads(payload)
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_keys[claims["k"]]))
    public.verify(signature, payload)  # raises InvalidSignature
    return claims


async def count(stack: Stack, service: str, sql: str, *args: Any) -> int:
    conn = await asyncpg.connect(with_database(stack.database_url, f"entitle_{service}"))
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


def test_a_signed_order_yields_a_verifiable_license_coverage_and_one_email(stack: Stack) -> None:
    order = sample_order(email="buyer@example.org")
    with httpx.Client(timeout=10) as client:
        response = post_order(client, webhook(stack), stack.secrets.webhook_secret, order)
        assert response.status_code == 202, response.text
        assert response.json()["order_id"] == order["order_id"]

        [message] = wait_until(lambda: mails_for(stack.mail_dir, order["order_id"]), timeout=60)
        assert message["To"] == "buyer@example.org"
        assert order["order_id"] in message["Subject"]
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        key = license_key_in(text)
        assert key in html

        spec = client.get(f"{stack.url('licensing')}/asyncapi.json").json()
        assert {c["address"] for c in spec["channels"].values()} >= {"commerce.orders"}
        published = client.get(f"{stack.url('licensing')}/.well-known/entitle-signing-key").json()
        claims = verify_offline(key, {k["kid"]: k["public_key"] for k in published["keys"]})
        assert claims["p"] == "backup-pro" and claims["e"] == "server"

        license_view = client.get(f"{stack.url('licensing')}/licenses/{key}", headers=admin(stack))
        assert license_view.status_code == 200
        assert license_view.json()["status"] == "active"
        assert license_view.json()["account_id"] == "acme"

        coverage = client.get(f"{stack.url('maintenance')}/coverage/{key}", headers=admin(stack))
        assert coverage.status_code == 200
        placed = datetime.fromisoformat(order["placed_at"])
        ends = datetime.fromisoformat(coverage.json()["ends_at"])
        assert ends == placed + relativedelta(months=3)  # the demo plan's complimentary months
        assert ends.strftime("%d %B %Y") in text

        deliveries = client.get(
            f"{stack.url('notification')}/deliveries",
            params={"correlation_id": order["order_id"]},
            headers=admin(stack),
        ).json()["items"]
        assert [d["status"] for d in deliveries] == ["sent"]
        assert deliveries[0]["message_id"] == message["Message-ID"]


async def test_an_orders_events_across_services_share_one_trace(
    stack: Stack, otlp: OtlpReceiver
) -> None:
    order = sample_order()
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    with httpx.Client(timeout=10) as client:
        sent = post_order(
            client,
            webhook(stack),
            stack.secrets.webhook_secret,
            order,
            extra_headers={"traceparent": f"00-{trace_id}-{caller_span}-01"},
        )
        assert sent.status_code == 202
    wait_until(lambda: mails_for(stack.mail_dir, order["order_id"]), timeout=60)

    # The spans every service exported form one tree under the shop's call.
    expected = {
        ("entitle-ingress", "POST /webhooks/orders"),
        ("entitle-licensing", "process entitle.commerce.order.placed.v1"),
        ("entitle-maintenance", "process entitle.licensing.license.issued.v1"),
        ("entitle-ticketing", "process entitle.commerce.order.placed.v1"),
        ("entitle-notification", "process entitle.licensing.license.issued.v1"),
        ("entitle-notification", "smtp send"),
    }

    def exported() -> list[ReceivedSpan] | None:
        spans = otlp.trace(trace_id)
        return spans if expected <= {(s.service, s.name) for s in spans} else None

    spans = wait_until(exported, timeout=30)
    span_ids = {s.span_id for s in spans} | {caller_span}
    assert all(s.parent_span_id in span_ids for s in spans), spans
    roots = [s for s in spans if s.parent_span_id == caller_span]
    assert [(s.service, s.name) for s in roots] == [("entitle-ingress", "POST /webhooks/orders")]

    async def traces() -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for topic in (
            "commerce.orders",
            "licensing.licenses",
            "maintenance.coverage",
            "notification.deliveries",
        ):
            for record in await read_all(stack.bootstrap, topic):
                if header(record.headers, "ce_correlationid") == order["order_id"]:
                    parent = header(record.headers, "ce_traceparent") or ""
                    found.setdefault(topic, set()).add(parent.split("-")[1] if parent else "")
        return found

    found = await eventually(lambda: _all_four(traces))
    assert set().union(*found.values()) == {trace_id}


async def _all_four(traces: Any) -> Any:
    found = await traces()
    return found if len(found) == 4 else None


def test_webhook_rejections_carry_stable_codes(stack: Stack) -> None:
    url, secret = webhook(stack), stack.secrets.webhook_secret
    order = sample_order()
    body = json.dumps(order).encode()
    with httpx.Client(timeout=10) as client:
        other_secret = "whsec_" + base64.b64encode(b"x" * 32).decode()
        wrong = client.post(url, content=body, headers=signed_headers(other_secret, body))
        assert (wrong.status_code, wrong.json()["code"]) == (401, "WEBHOOK_SIGNATURE_INVALID")

        stale = signed_headers(secret, body)
        old = str(int(time.time()) - 600)
        from services.ingress.domain.webhook_signature import sign

        stale.update(
            {
                "webhook-timestamp": old,
                "webhook-signature": sign(secret, stale["webhook-id"], int(old), body),
            }
        )
        too_old = client.post(url, content=body, headers=stale)
        assert too_old.status_code == 401
        assert too_old.json()["code"] == "WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE"

        tampered = client.post(url, content=body + b" ", headers=signed_headers(secret, body))
        assert tampered.status_code == 401

        missing = client.post(url, content=body, headers={"content-type": "application/json"})
        assert missing.json()["code"] == "WEBHOOK_HEADERS_MISSING"

        broken = dict(order, buyer={**order["buyer"], "email": "not-an-address"})
        broken_body = json.dumps(broken).encode()
        invalid = client.post(url, content=broken_body, headers=signed_headers(secret, broken_body))
        assert invalid.status_code == 422
        assert invalid.json()["code"] == "INVALID_ORDER"
        assert "buyer.email" in invalid.json()["detail"]

        huge = json.dumps(dict(order, padding="x" * 300_000)).encode()
        large = client.post(url, content=huge, headers=signed_headers(secret, huge))
        assert (large.status_code, large.json()["code"]) == (413, "PAYLOAD_TOO_LARGE")

        first = post_order(client, url, secret, order)
        assert first.status_code == 202
        changed = dict(order, currency="USD")
        conflict = post_order(client, url, secret, changed)
        assert (conflict.status_code, conflict.json()["code"]) == (409, "ORDER_CONFLICT")

        unauthenticated = client.get(f"{stack.url('licensing')}/licenses/anything")
        assert (unauthenticated.status_code, unauthenticated.json()["code"]) == (
            401,
            "UNAUTHENTICATED",
        )


async def test_the_same_webhook_and_the_same_event_twice_give_one_of_each(stack: Stack) -> None:
    order = sample_order()
    order_id = order["order_id"]
    hook_id = f"msg_{uuid.uuid4().hex}"
    with httpx.Client(timeout=10) as client:
        first = post_order(client, webhook(stack), stack.secrets.webhook_secret, order, hook_id)
        again = post_order(client, webhook(stack), stack.secrets.webhook_secret, order, hook_id)
        resent = post_order(client, webhook(stack), stack.secrets.webhook_secret, order)
    assert [r.status_code for r in (first, again, resent)] == [202, 202, 202]
    assert again.json() == {**first.json(), "duplicate": True}
    assert resent.json()["event_id"] == first.json()["event_id"]
    wait_until(lambda: mails_for(stack.mail_dir, order_id), timeout=60)

    # Deliver the very same event to every consumer a second time.
    records = [
        r for r in await read_all(stack.bootstrap, "commerce.orders") if r.key == order_id.encode()
    ]
    assert len(records) == 1  # the repeated webhook was not published twice
    await produce(
        stack.bootstrap,
        "commerce.orders",
        [(records[0].key, records[0].value, list(records[0].headers))],
    )
    for topic in ("licensing.licenses", "maintenance.coverage"):
        copies = [r for r in await read_all(stack.bootstrap, topic) if order_id.encode() in r.value]
        await produce(stack.bootstrap, topic, [(r.key, r.value, list(r.headers)) for r in copies])

    # A later order on the same path shows the duplicates have been consumed.
    sentinel = sample_order()
    with httpx.Client(timeout=10) as client:
        post_order(client, webhook(stack), stack.secrets.webhook_secret, sentinel)
    wait_until(lambda: mails_for(stack.mail_dir, sentinel["order_id"]), timeout=60)
    await asyncio.sleep(2)

    assert (
        await count(
            stack, "licensing", "select count(*) from licenses where order_id = $1", order_id
        )
        == 1
    )
    assert (
        await count(
            stack,
            "maintenance",
            "select count(*) from coverage_periods where order_id = $1",
            order_id,
        )
        == 1
    )
    assert (
        await count(
            stack,
            "notification",
            "select count(*) from deliveries where correlation_id = $1",
            order_id,
        )
        == 1
    )
    assert len(mails_for(stack.mail_dir, order_id)) == 1
