"""The embedded broker on durable (PostgreSQL) storage: killed while orders flow and started
again, it loses nothing (topics, records, committed offsets), and every order still ends in
exactly one license, one coverage and one email. Where the Tansu build has no PostgreSQL
engine, `auto` storage falls back to memory and says so, and `postgres` is refused by name.

The fault suite (test_faults.py) strikes the same fault among the others when its broker
stores in PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import asyncpg
import httpx
import pytest
from entitle_cli.webhook_client import post_order, sample_order
from entitle_dev.broker import EmbeddedBroker, StorageUnsupported
from entitle_dev.stack import Stack, free_port

from services.runtime.db import with_database
from tests.helpers import wait_until
from tests.infra import Infra

from .conftest import mails, stack_config

ORDERS = 60


def _send_orders(stack: Stack, count: int, accepted: list[str], done: threading.Event) -> None:
    """A shop: each order is retried, with the same webhook id, until it is accepted (the
    broker may be down for a while: ingress then answers 503)."""
    url = f"{stack.url('ingress')}/webhooks/orders"
    with httpx.Client(timeout=10) as client:
        for n in range(count):
            order = sample_order(order_id=f"B-{n:04d}-{random.randrange(10**8)}")
            while True:
                try:
                    answer = post_order(
                        client, url, stack.secrets.webhook_secret, order, f"msg_{order['order_id']}"
                    )
                    if answer.status_code == 202:
                        accepted.append(order["order_id"])
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            time.sleep(0.03)
    done.set()


def durable_stack(infra: Infra, folder: Path) -> Stack:
    """A stack with its own embedded broker, storing in the test PostgreSQL, and its own
    databases (the suite's other stack shares the server)."""
    config = stack_config(infra, folder)
    config.kafka_bootstrap = None
    config.kafka_idempotence = False
    config.broker_storage = "postgres"
    config.service_env = {
        name: {"ENTITLE_DATABASE_NAME": f"durable_{name}"} for name in config.http_ports
    }
    return Stack(config)


async def per_order(stack: Stack, service: str, sql: str) -> Counter[str]:
    conn = await asyncpg.connect(with_database(stack.database_url, f"durable_{service}"))
    try:
        return Counter(r[0] for r in await conn.fetch(sql))
    finally:
        await conn.close()


def test_auto_storage_says_which_storage_it_got(infra: Infra, tmp_path: Path) -> None:
    stack = durable_stack(infra, tmp_path)
    stack.config.broker_storage = "auto"
    stack.config.start_mail_capture = False
    stack.start_infrastructure()  # called inside no event loop here, as `entitle dev` does
    try:
        assert stack.broker is not None
        assert stack.broker_storage in {"postgres", "memory"}
        assert stack.describe()["broker_storage"] == stack.broker_storage
        if stack.broker_storage == "memory":  # this Tansu build: refused by name
            log = tmp_path / "probe.log"
            with pytest.raises(StorageUnsupported, match="no postgres storage engine"):
                EmbeddedBroker(free_port(), log, "postgres://x@127.0.0.1/y").start()
    finally:
        stack.stop()


async def test_killing_the_durable_broker_while_orders_flow_loses_nothing(
    infra: Infra, tmp_path: Path
) -> None:
    stack = durable_stack(infra, tmp_path)
    try:
        await asyncio.to_thread(stack.start_infrastructure)
    except StorageUnsupported as exc:
        stack.stop()
        pytest.skip(f"durable broker storage unavailable here: {exc}")
    try:
        stack.start_services()
        await asyncio.to_thread(stack.wait_ready, timeout=120)
        accepted: list[str] = []
        done = threading.Event()
        sender = threading.Thread(
            target=_send_orders, args=(stack, ORDERS, accepted, done), daemon=True
        )
        sender.start()
        await asyncio.to_thread(wait_until, lambda: len(accepted) >= ORDERS // 3, 120)
        assert stack.broker is not None
        stack.broker.kill()
        await asyncio.sleep(2)
        stack.broker.start()
        await asyncio.to_thread(sender.join, 600)
        assert done.is_set(), "the shop could not place its orders"
        ours = set(accepted)

        def every_order_mailed() -> bool:
            return ours <= {m["X-Entitle-Correlation"] for m in mails(stack.mail_dir)}

        await asyncio.to_thread(wait_until, every_order_mailed, 300, 0.5)
        licenses = await per_order(stack, "licensing", "select order_id from licenses")
        coverage = await per_order(stack, "maintenance", "select order_id from coverage_periods")
        assert {o: licenses[o] for o in ours} == dict.fromkeys(ours, 1)
        assert {o: coverage[o] for o in ours} == dict.fromkeys(ours, 1)
        emails = [m["X-Entitle-Correlation"] for m in mails(stack.mail_dir)]
        assert {o: emails.count(o) for o in ours} == dict.fromkeys(ours, 1)
    finally:
        for service in list(stack.processes):
            stack.kill_service(service, signal.SIGTERM)
        stack.stop()


async def test_auto_storage_starts_from_inside_an_event_loop(infra: Infra, tmp_path: Path) -> None:
    """As the fault suite starts its stack: inside an async test."""
    stack = durable_stack(infra, tmp_path)
    stack.config.broker_storage = "auto"
    stack.config.start_mail_capture = False
    stack.start_infrastructure()
    try:
        assert stack.broker_storage in {"postgres", "memory"}
    finally:
        stack.stop()
