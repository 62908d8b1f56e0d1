"""Faults while orders flow (DESIGN §3): services killed with SIGKILL, PostgreSQL restarted,
malformed, unknown and rule-breaking events injected, a slice of events delivered twice.
Afterwards every accepted order has exactly one license, one coverage and one email, every
bad event sits in the right dead-letter topic, and no consumer is stuck.

`make test` runs a short form; `make faults` runs it with more orders
(ENTITLE_FAULTS_ORDERS).
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
from collections import Counter
from datetime import UTC, datetime

import asyncpg
from entitle_events import encode, new_event
from entitle_events.kafka import header
from entitle_events.licensing import LicenseIssued
from rich.console import Console
from rich.table import Table

from services.devstack.stack import Stack
from services.runtime.db import with_database
from tests.helpers import wait_until
from tests.infra import Infra
from tests.integration.kafka_tools import produce, read_all

from .conftest import mails
from .test_crash_recovery import _send_orders

ORDERS = int(os.environ.get("ENTITLE_FAULTS_ORDERS", "150"))


async def _per_order(stack: Stack, service: str, sql: str) -> Counter[str]:
    conn = await asyncpg.connect(with_database(stack.database_url, f"entitle_{service}"))
    try:
        return Counter(r[0] for r in await conn.fetch(sql))
    finally:
        await conn.close()


Record = tuple[bytes, bytes, list[tuple[str, bytes]]]


def bad_orders() -> list[Record]:
    """A malformed record and one of an unknown type, for commerce.orders."""
    malformed = (b"bad-1", b"{not json", [("ce_type", b"entitle.commerce.order.placed.v1")])
    unknown = (b"bad-2", b"{}", [("ce_id", b"x"), ("ce_type", b"entitle.commerce.order.lost.v9")])
    return [malformed, unknown]


def rule_breaking_license() -> Record:
    """A license whose plan does not exist: maintenance refuses it for good."""
    now = datetime.now(UTC)
    broken = LicenseIssued(
        license_id="00000000-0000-0000-0000-00000000bad1", license_key="forged",
        product="backup-pro", account_id="faults", kind="perpetual", edition="server",
        sku="BP-SRV", company="Faults", contact_email="faults@example.org", order_id="FAULT",
        line_id="1", purchased_at=now, major_version=5, max_activations=1,
        payment_mode="annual", maintenance_plan="no-such-plan", coverage_expected=True,
    )  # fmt: skip
    return encode(new_event(broken, source="licensing", subject="bad", time=now))


async def test_nothing_is_lost_or_duplicated_under_faults(stack: Stack, infra: Infra) -> None:
    accepted: list[str] = []
    done = threading.Event()
    sender = threading.Thread(
        target=_send_orders, args=(stack, ORDERS, accepted, done), daemon=True
    )
    sender.start()
    faults: list[str] = []

    async def pause() -> None:
        await asyncio.sleep(random.uniform(0.3, 1.0))

    await pause()
    stack.restart_service("licensing")
    faults.append("SIGKILL licensing")
    await produce(stack.bootstrap, "commerce.orders", bad_orders())
    await produce(stack.bootstrap, "licensing.licenses", [rule_breaking_license()])
    faults.append("malformed, unknown-type and rule-breaking events injected")
    await pause()
    if infra.postgres is not None:
        infra.postgres.stop()
        await asyncio.sleep(1.5)
        infra.postgres.start()
        faults.append("PostgreSQL restarted")
    for service in ("maintenance", "notification", "ingress"):
        await pause()
        stack.restart_service(service)
        faults.append(f"SIGKILL {service}")
    await asyncio.to_thread(sender.join, 600)
    assert done.is_set(), "the shop could not place its orders"
    placed = [
        r
        for r in await read_all(stack.bootstrap, "commerce.orders")
        if r.key in {o.encode() for o in accepted[:20]}
    ]
    await produce(
        stack.bootstrap, "commerce.orders", [(r.key, r.value, list(r.headers)) for r in placed]
    )
    faults.append(f"{len(placed)} order events delivered twice")
    stack.wait_ready(timeout=120)

    ours = set(accepted)

    def every_order_mailed() -> bool:
        return ours <= {m["X-Entitle-Correlation"] for m in mails(stack.mail_dir)}

    wait_until(every_order_mailed, timeout=300, interval=0.5)
    await asyncio.sleep(3)  # let any duplicate that was going to happen, happen

    licenses = await _per_order(stack, "licensing", "select order_id from licenses")
    coverage = await _per_order(stack, "maintenance", "select order_id from coverage_periods")
    emails = Counter(m["X-Entitle-Correlation"] for m in mails(stack.mail_dir))
    dead = {
        topic: Counter(
            header(r.headers, "dlt_error_class") for r in await read_all(stack.bootstrap, topic)
        )
        for topic in ("commerce.orders.licensing.dlt", "licensing.licenses.maintenance.dlt")
    }
    table = Table(title=f"faults with {len(ours)} orders")
    table.add_column("check")
    table.add_column("result")
    for fault in faults:
        table.add_row("fault", fault)
    table.add_row("orders with exactly one license", str(sum(licenses[o] == 1 for o in ours)))
    table.add_row("orders with exactly one coverage", str(sum(coverage[o] == 1 for o in ours)))
    table.add_row("orders with exactly one email", str(sum(emails[o] == 1 for o in ours)))
    for topic, classes in dead.items():
        table.add_row(topic, ", ".join(f"{k}: {v}" for k, v in sorted(classes.items())))
    Console().print(table)

    assert len(ours) == ORDERS
    assert {o: licenses[o] for o in ours} == dict.fromkeys(ours, 1)
    assert {o: coverage[o] for o in ours} == dict.fromkeys(ours, 1)
    assert {o: emails[o] for o in ours} == dict.fromkeys(ours, 1)
    assert dead["commerce.orders.licensing.dlt"] == Counter(
        {"InvalidEvent": 1, "UnknownEventType": 1}
    )
    assert dead["licensing.licenses.maintenance.dlt"] == Counter({"UNKNOWN_PLAN": 1})
