"""Faults throughout the load. While a shop places orders (some twice at once
under one webhook id, some again under a new one, some with poisoned text) and customers
open tickets, faults strike at random moments until the load ends: every service process
(two copies each of licensing and notification, so kills force rebalances) killed with
SIGKILL several times, PostgreSQL killed with SIGKILL on a durable database (fsync on), its
connections dropped, bad records injected into every consumed topic, events delivered
twice. Afterwards every accepted order has exactly one license, one coverage and one license
email (resent copies only within the bound, told apart by Message-ID), every projection is
complete, no request got a 5xx other than 503, and each bad record is in the dead-letter
topic of every group that consumes its topic.

`make test` runs a short form; `make faults` runs it with more orders
(ENTITLE_FAULTS_ORDERS).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from entitle_cli.webhook_client import post_order, sample_order, signed_headers
from entitle_dev.stack import Stack, StackConfig
from entitle_events import encode, new_event
from entitle_events.kafka import header
from entitle_events.licensing import LicenseIssued
from rich.console import Console
from rich.table import Table

from services.runtime.db import with_database
from tests.helpers import wait_until
from tests.integration.kafka_tools import produce, read_all

from .conftest import mails, running_stack

ORDERS = int(os.environ.get("ENTITLE_FAULTS_ORDERS", "120"))
TICKETS = max(10, ORDERS // 10)
SMTP_SESSIONS = 4
COPIES = {"licensing": 2, "notification": 2}
# Long enough for every fault to strike several times; longer runs pace themselves.
LOAD_SECONDS = max(45.0, ORDERS / 15)


@dataclass
class Traffic:
    """What the shop and the customers saw over HTTP."""

    accepted: list[str] = field(default_factory=list)
    tickets: dict[str, str] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    server_faults: list[str] = field(default_factory=list)
    poison_refused: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, what: str, response: httpx.Response) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code >= 500 and response.status_code != 503:
                self.server_faults.append(f"{what}: {response.status_code} {response.text[:200]}")


def _until_answered(send: Callable[[], httpx.Response], what: str, traffic: Traffic) -> Any:
    """Retry as a shop does: through connection errors (a killed process) and 503 (the
    database down), until the service answers for good."""
    while True:
        try:
            response = send()
        except httpx.TransportError:
            time.sleep(0.2)
            continue
        traffic.saw(what, response)
        if response.status_code != 503 and response.status_code < 500:
            return response
        time.sleep(0.2)


def _shop(stack: Stack, traffic: Traffic, stop: threading.Event) -> None:
    url, secret = f"{stack.url('ingress')}/webhooks/orders", stack.secrets.webhook_secret
    pace = LOAD_SECONDS / ORDERS
    with httpx.Client(timeout=15) as client:
        for n in range(ORDERS):
            started = time.monotonic()
            email = f"käufer{n}@bücher.example" if n % 7 == 0 else f"buyer{n}@shop.example"
            order = sample_order(
                order_id=f"F-{n:05d}-{random.randrange(10**6)}", account=f"fa{n % 20}", email=email
            )
            hook_id = f"msg_{order['order_id']}"

            def place(o: dict[str, Any] = order, h: str = hook_id) -> httpx.Response:
                return post_order(client, url, secret, o, h)

            if n % 5 == 0:  # the shop's retry races its first attempt
                twin = threading.Thread(
                    target=_until_answered, args=(place, "webhook twin", traffic)
                )
                twin.start()
            answer = _until_answered(place, "webhook", traffic)
            assert answer.status_code == 202, answer.text
            if n % 5 == 0:
                twin.join()
            if n % 6 == 0:  # the same order again under a new webhook id
                again = _until_answered(
                    lambda o=order: post_order(client, url, secret, o), "resend", traffic
                )
                assert again.status_code == 202 and again.json()["duplicate"], again.text
            with traffic.lock:
                traffic.accepted.append(order["order_id"])
            if n % 10 == 3:
                _poison_order(client, url, secret, traffic)
            if stop.is_set():
                return
            time.sleep(max(0.0, pace - (time.monotonic() - started)))


def _poison_order(client: httpx.Client, url: str, secret: str, traffic: Traffic) -> None:
    poisoned = sample_order()
    poisoned["buyer"]["company"] = "ACME\u0000 GmbH"
    body = json.dumps(poisoned).encode()
    refused = _until_answered(
        lambda: client.post(url, content=body, headers=signed_headers(secret, body)),
        "poison order",
        traffic,
    )
    assert refused.status_code == 422, refused.text
    with traffic.lock:
        traffic.poison_refused["order with NUL"] += 1


def _customers(stack: Stack, traffic: Traffic) -> None:
    url = f"{stack.url('ticketing')}/tickets"
    admin = {"authorization": f"Bearer {stack.secrets.admin_api_key}"}
    with httpx.Client(timeout=15, headers=admin) as client:
        for n in range(TICKETS):
            request_id = f"req-{n}-{random.randrange(10**6)}"
            ticket = {
                "account_id": f"fa{n % 20}",
                "email": f"user{n}@shop.example",
                "product": "backup-pro",
                "version": "5.1.0",
                "kind": "technical",
                "subject": f"Backup {n} fails",
                "body": "It stopped at 40 %.\nLog attached.",
                "request_id": request_id,
            }
            opened = _until_answered(lambda t=ticket: client.post(url, json=t), "ticket", traffic)
            assert opened.status_code in (200, 201), opened.text
            with traffic.lock:
                traffic.tickets[request_id] = opened.json()["number"]
            poisoned = {**ticket, "email": "user\u0001@shop.example", "request_id": None}
            refused = _until_answered(
                lambda t=poisoned: client.post(url, json=t), "poison ticket", traffic
            )
            assert refused.status_code == 422, refused.text
            with traffic.lock:
                traffic.poison_refused["ticket with a control character"] += 1
            time.sleep(LOAD_SECONDS / TICKETS)


Record = tuple[bytes, bytes, list[tuple[str, bytes]]]


def bad_records() -> list[Record]:
    """A record that is no event and one of an unknown type: bad for every consumer."""
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


class Faults:
    """Strikes at random moments until told to stop, cycling through every kind of fault
    in a new random order each round, so each strikes several times."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.struck: Counter[str] = Counter()
        self.kinds = [*(f"kill {p}" for p in stack.process_names()), "kill postgres", "drop"]
        if stack.broker_storage == "postgres":  # on memory storage a restart loses everything
            self.kinds.append("kill broker")

    async def run(self, until: Callable[[], bool]) -> None:
        rounds = 0
        while not until() or rounds < 2:
            order = random.sample(self.kinds, len(self.kinds))
            for kind in order:
                await asyncio.sleep(random.uniform(0.5, 2.5))
                await self.strike(kind)
                if until() and rounds >= 2:
                    return
            rounds += 1

    async def strike(self, kind: str) -> None:
        stack = self.stack
        if kind == "kill postgres":
            assert stack.postgres is not None
            stack.postgres.kill()
            await asyncio.sleep(random.uniform(0.5, 2.0))
            await asyncio.to_thread(stack.postgres.start)
        elif kind == "kill broker":
            assert stack.broker is not None
            stack.broker.kill()
            await asyncio.sleep(random.uniform(0.5, 2.0))
            await asyncio.to_thread(stack.broker.start)
        elif kind == "drop":
            await _drop_connections(stack)
        else:
            stack.restart_service(kind.removeprefix("kill "))
        self.struck[kind] += 1


async def _drop_connections(stack: Stack) -> None:
    try:
        conn = await asyncpg.connect(stack.database_url, timeout=5)
    except (OSError, asyncpg.PostgresError):
        return  # PostgreSQL is restarting: nothing to drop
    try:
        await conn.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity"
            " where datname like 'entitle_%' and pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()


async def _rows(stack: Stack, service: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(with_database(stack.database_url, f"entitle_{service}"))
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


def _consumers(stack: Stack) -> dict[str, list[str]]:
    """Topic -> the consumer groups that read it, as each running service documents it."""
    groups: dict[str, list[str]] = {}
    for service in {p.split("-")[0] for p in stack.process_names()}:
        spec = httpx.get(f"{stack.url(service)}/asyncapi.json", timeout=10).json()
        for operation in spec.get("operations", {}).values():
            if operation["action"] == "receive":
                channel = operation["channel"]["$ref"].rsplit("/", 1)[-1]
                groups.setdefault(spec["channels"][channel]["address"], []).append(service)
    return groups


@pytest.mark.timeout(1200)  # recovery from each fault takes longer on a loaded machine
async def test_nothing_is_lost_or_duplicated_under_faults_throughout_the_load(
    servers_dir: Path,
) -> None:
    config = StackConfig.ephemeral(servers_dir / "stack")
    config.durable_db = True  # fsync on: a SIGKILL of PostgreSQL loses only uncommitted work
    config.broker_storage = "auto"  # the broker in PostgreSQL where Tansu can: killed too
    config.copies = COPIES
    config.extra_env = {
        "ENTITLE_KAFKA_SESSION_TIMEOUT_MS": "4000",
        "ENTITLE_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
        "ENTITLE_RETRY_BACKOFF_MAX": "2",
        "ENTITLE_SMTP_CONNECTIONS": str(SMTP_SESSIONS),
        "ENTITLE_SEND_LEASE_SECONDS": "5",
    }
    with running_stack(config) as stack:
        await _run_and_check(stack)


async def _run_and_check(stack: Stack) -> None:
    consumers = _consumers(stack)
    traffic, stop = Traffic(), threading.Event()
    shop = threading.Thread(target=_shop, args=(stack, traffic, stop), daemon=True)
    customers = threading.Thread(target=_customers, args=(stack, traffic), daemon=True)
    shop.start()
    customers.start()
    faults = Faults(stack)

    async def inject_bad_records() -> None:
        await asyncio.sleep(LOAD_SECONDS / 3)
        for topic in consumers:
            await produce(stack.bootstrap, topic, bad_records())
        await produce(stack.bootstrap, "licensing.licenses", [rule_breaking_license()])

    injected = asyncio.create_task(inject_bad_records())
    try:
        await faults.run(until=lambda: not shop.is_alive() and not customers.is_alive())
    finally:
        stop.set()
    await injected
    await asyncio.to_thread(shop.join, 60)
    await asyncio.to_thread(customers.join, 60)
    assert len(traffic.accepted) == ORDERS, "the shop could not place its orders"
    assert len(traffic.tickets) == TICKETS, "the customers could not open their tickets"
    ours = set(traffic.accepted)
    twice = [
        r
        for r in await read_all(stack.bootstrap, "commerce.orders")
        if r.key in {o.encode() for o in traffic.accepted[:20]}
    ]
    await produce(
        stack.bootstrap, "commerce.orders", [(r.key, r.value, list(r.headers)) for r in twice]
    )
    for process in stack.process_names():  # any copy a fault left down comes back
        if process not in stack.processes:
            stack.start_service(process)
    stack.wait_ready(timeout=120)

    def license_emails() -> list[Any]:
        return [m for m in mails(stack.mail_dir) if m["X-Entitle-Template"] == "license_delivered"]

    wait_until(
        lambda: ours <= {m["X-Entitle-Correlation"] for m in license_emails()},
        timeout=300,
        interval=1,
    )
    opened_numbers = set(traffic.tickets.values())
    wait_until(
        lambda: (
            opened_numbers
            <= {
                _ticket_number(m["Subject"])
                for m in mails(stack.mail_dir)
                if m["X-Entitle-Template"] == "ticket_opened"
            }
        ),
        timeout=300,
        interval=1,
    )
    await asyncio.sleep(8)  # past the senders' lease: any resend that was due has happened
    await _check(stack, traffic, faults, consumers, ours)


async def _check(
    stack: Stack,
    traffic: Traffic,
    faults: Faults,
    consumers: dict[str, list[str]],
    ours: set[str],
) -> None:
    licenses = await _rows(stack, "licensing", "select license_id::text, order_id from licenses")
    ours_licenses = {r["license_id"] for r in licenses if r["order_id"] in ours}
    per_order = Counter(r["order_id"] for r in licenses)
    coverage = Counter(
        r["order_id"]
        for r in await _rows(stack, "maintenance", "select order_id from coverage_periods")
    )
    projected = {
        "licensing: coverage of each license": await _ids(stack, "licensing", "coverage"),
        "ticketing: each license": await _ids(stack, "ticketing", "ent_licenses"),
        "ticketing: coverage of each license": await _ids(stack, "ticketing", "ent_coverage"),
    }
    messages = mails(stack.mail_dir)
    delivered = [m for m in messages if m["X-Entitle-Template"] == "license_delivered"]
    distinct = {m["Message-ID"]: m["X-Entitle-Correlation"] for m in delivered}
    license_mail = Counter(distinct.values())
    resent = len(delivered) - len(distinct)
    ticket_rows = await _rows(stack, "ticketing", "select number from tickets")
    tickets = Counter(r["number"] for r in ticket_rows)
    opened_mail = Counter(
        m["Message-ID"] for m in messages if m["X-Entitle-Template"] == "ticket_opened"
    )
    dead = {
        (topic, group): Counter(
            header(r.headers, "dlt_error_class")
            for r in await read_all(stack.bootstrap, f"{topic}.{group}.dlt")
        )
        for topic, groups in consumers.items()
        for group in groups
    }
    # Each fault that can end a sender's life mid-batch may resend what was in flight.
    crashes = sum(
        n
        for kind, n in faults.struck.items()
        if kind.startswith("kill notification") or kind in ("kill postgres", "drop")
    )

    table = Table(title=f"faults throughout the load: {len(ours)} orders, {TICKETS} tickets")
    table.add_column("check")
    table.add_column("result", justify="right")
    for kind, n in sorted(faults.struck.items()):
        table.add_row(f"fault: {kind}", str(n))
    table.add_row("broker storage", stack.broker_storage)
    table.add_row("HTTP answers by status", json.dumps(dict(sorted(traffic.statuses.items()))))
    for what, n in traffic.poison_refused.items():
        table.add_row(f"poison refused with 422: {what}", str(n))
    table.add_row("orders with exactly one license", str(sum(per_order[o] == 1 for o in ours)))
    table.add_row("orders with exactly one coverage", str(sum(coverage[o] == 1 for o in ours)))
    table.add_row("orders with one license email", str(sum(license_mail[o] == 1 for o in ours)))
    table.add_row(
        "license emails resent (same Message-ID)",
        f"{resent} (bound {SMTP_SESSIONS} x {crashes} crashes)",
    )
    for name, ids in projected.items():
        table.add_row(f"projection {name}", f"{len(ours_licenses & ids)}/{len(ours_licenses)}")
    table.add_row("tickets opened once, emailed once", str(sum(tickets[n] == 1 for n in tickets)))
    for (topic, group), classes in sorted(dead.items()):
        table.add_row(f"dead letters {topic} / {group}", json.dumps(dict(sorted(classes.items()))))
    Console(width=140).print(table)

    assert traffic.server_faults == [], _server_errors(stack)
    assert {o: per_order[o] for o in ours} == dict.fromkeys(ours, 1)
    assert {o: coverage[o] for o in ours} == dict.fromkeys(ours, 1)
    assert {o: license_mail[o] for o in ours} == dict.fromkeys(ours, 1)
    assert resent <= SMTP_SESSIONS * crashes
    for name, ids in projected.items():
        assert ours_licenses <= ids, name
    assert sorted(tickets) == sorted(set(traffic.tickets.values()))
    assert set(tickets.values()) == {1}
    assert len(opened_mail) == TICKETS
    for (topic, group), classes in dead.items():
        assert classes["InvalidEvent"] == 1 and classes["UnknownEventType"] == 1, (topic, group)
    assert dead[("licensing.licenses", "maintenance")]["UNKNOWN_PLAN"] == 1


async def _ids(stack: Stack, service: str, table: str) -> set[str]:
    return {r[0] for r in await _rows(stack, service, f"select license_id::text from {table}")}


def _ticket_number(subject: str) -> str:
    """`[T-2026-000123] Backup fails` -> `T-2026-000123`."""
    return subject[1 : subject.index("]")]


def _server_errors(stack: Stack) -> str:
    """The tracebacks the services logged for the requests they failed."""
    found = []
    for path in sorted((stack.var / "log").glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if '"Exception in ASGI application' in line:
                found.append(f"{path.stem}: {json.loads(line).get('error', '')[-1500:]}")
    return "\n".join(found) or "no traceback logged"
