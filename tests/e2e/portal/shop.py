"""Orders as the shop sends them, and the calls an installed product or agent makes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from entitle_cli.webhook_client import post_order
from entitle_dev.stack import Stack


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def line(sku: str, quantity: int = 1, line_id: str = "1", key: str | None = None) -> dict[str, Any]:
    return {
        "line_id": line_id,
        "sku": sku,
        "quantity": quantity,
        "unit_price": "10.00",
        "license_key": key,
    }


def order(
    stack: Stack,
    account: str,
    email: str,
    company: str,
    lines: list[dict[str, Any]],
    reseller: bool = False,
    end_customer: dict[str, Any] | None = None,
) -> str:
    body = {
        "order_id": unique("O-"),
        "placed_at": datetime.now(UTC).isoformat(),
        "currency": "EUR",
        "payment_mode": "annual",
        "buyer": {"account_id": account, "company": company, "email": email, "reseller": reseller},
        "end_customer": end_customer,
        "lines": lines,
    }
    with httpx.Client(timeout=10) as client:
        answer = post_order(
            client, f"{stack.url('ingress')}/webhooks/orders", stack.secrets.webhook_secret, body
        )
    assert answer.status_code == 202, answer.text
    return str(body["order_id"])


def admin(stack: Stack) -> dict[str, str]:
    return {"authorization": f"Bearer {stack.secrets.admin_api_key}"}


def licenses_of(stack: Stack, account: str, expected: int) -> list[dict[str, Any]]:
    """The account's licenses once licensing has issued `expected` of them."""
    import time

    deadline = time.monotonic() + 60
    with httpx.Client(timeout=10) as client:
        while True:
            items: list[dict[str, Any]] = client.get(
                f"{stack.url('licensing')}/licenses",
                params={"account": account},
                headers=admin(stack),
            ).json()["items"]
            if len(items) >= expected or time.monotonic() > deadline:
                return items
            time.sleep(0.3)


def activate(stack: Stack, key: str, hostname: str, fingerprint: str) -> None:
    with httpx.Client(timeout=10) as client:
        answer = client.post(
            f"{stack.url('licensing')}/licenses/{key}/activations",
            json={"fingerprint": fingerprint, "platform": "windows", "hostname": hostname},
        )
    assert answer.status_code in (200, 201), answer.text


def publish_release(stack: Stack, version: str, released_at: datetime | None = None) -> None:
    with httpx.Client(timeout=10) as client:
        published = client.post(
            f"{stack.url('licensing')}/releases",
            json={
                "product": "backup-pro",
                "version": version,
                "released_at": (released_at or datetime.now(UTC)).isoformat(),
            },
            headers=admin(stack),
        )
    assert published.status_code == 201, published.text


def supported_version(stack: Stack) -> str:
    """A version support still accepts: of the newest major published (other tests publish
    new majors, after which older ones may be discontinued)."""
    with httpx.Client(timeout=10) as client:
        releases = client.get(
            f"{stack.url('licensing')}/releases",
            params={"product": "backup-pro", "limit": 1},
            headers=admin(stack),
        ).json()
    major = max([5, *(int(r["version"].split(".")[0]) for r in releases)])
    return f"{major}.0.1"


def portal_knows(stack: Stack, email: str, timeout: float = 30) -> None:
    """Wait until the portal's directory (a projection of order and license events) has the
    address: the sign-in page answers alike for known and unknown addresses, so the test
    looks in the portal's own table."""
    import asyncio
    import time

    import asyncpg

    from services.runtime.db import with_database

    async def known() -> bool:
        url = with_database(stack.database_url, stack.database_name("portal"))
        conn = await asyncpg.connect(url)
        try:
            found = await conn.fetchval(
                "select count(*) from directory where email = lower($1)", email
            )
        finally:
            await conn.close()
        return bool(found)

    deadline = time.monotonic() + timeout
    while not asyncio.run(known()):
        assert time.monotonic() < deadline, f"the portal never learnt of {email}"
        time.sleep(0.2)
