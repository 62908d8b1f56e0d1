"""Services killed with SIGKILL while orders flow, then restarted: nothing lost, nothing
duplicated (DESIGN §3)."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter

import asyncpg
import httpx

from services.cli.webhook_client import post_order, sample_order
from services.devstack.stack import Stack
from services.runtime.db import with_database
from tests.helpers import wait_until

from .conftest import mails


def _send_orders(stack: Stack, count: int, accepted: list[str], done: threading.Event) -> None:
    """A shop: each order is retried, with the same webhook id, until it is accepted."""
    url = f"{stack.url('ingress')}/webhooks/orders"
    with httpx.Client(timeout=10) as client:
        for n in range(count):
            order = sample_order(order_id=f"K-{n:04d}-{random.randrange(10**8)}")
            hook_id = f"msg_{order['order_id']}"
            while True:
                try:
                    if (
                        post_order(
                            client, url, stack.secrets.webhook_secret, order, hook_id
                        ).status_code
                        == 202
                    ):
                        accepted.append(order["order_id"])
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            time.sleep(0.03)
    done.set()


async def _per_order(stack: Stack, service: str, sql: str) -> Counter[str]:
    conn = await asyncpg.connect(with_database(stack.database_url, f"entitle_{service}"))
    try:
        return Counter(r[0] for r in await conn.fetch(sql))
    finally:
        await conn.close()


async def test_sigkill_each_service_while_orders_flow(stack: Stack) -> None:
    accepted: list[str] = []
    done = threading.Event()
    sender = threading.Thread(target=_send_orders, args=(stack, 120, accepted, done), daemon=True)
    sender.start()
    for service in ("licensing", "maintenance", "notification", "ingress"):
        await asyncio.sleep(random.uniform(0.3, 1.2))
        stack.restart_service(service)  # SIGKILL, then start again
    sender.join(timeout=300)
    assert done.is_set(), "the shop could not place its orders"
    stack.wait_ready(timeout=120)

    def every_order_mailed() -> bool:
        mailed = {m["X-Entitle-Correlation"] for m in mails(stack.mail_dir)}
        return set(accepted) <= mailed

    wait_until(every_order_mailed, timeout=180, interval=0.5)
    await asyncio.sleep(2)  # let any duplicate that was going to happen, happen

    ours = set(accepted)
    licenses = await _per_order(stack, "licensing", "select order_id from licenses")
    coverage = await _per_order(stack, "maintenance", "select order_id from coverage_periods")
    emails = Counter(
        m["X-Entitle-Correlation"]
        for m in mails(stack.mail_dir)
        if m["X-Entitle-Correlation"] in ours
    )
    message_ids = {
        order: {
            m["Message-ID"] for m in mails(stack.mail_dir) if m["X-Entitle-Correlation"] == order
        }
        for order in ours
    }
    assert len(ours) == 120
    assert {o: licenses[o] for o in ours} == dict.fromkeys(ours, 1)
    assert {o: coverage[o] for o in ours} == dict.fromkeys(ours, 1)
    assert all(len(ids) == 1 for ids in message_ids.values())
    assert dict(emails) == dict.fromkeys(ours, 1)
