"""The email guarantee's one window, bounded: the notification service is killed while the
SMTP server takes the 8th message of a backlog of 30. Only the messages in flight at that
instant (at most one per SMTP session) are sent again, each with its original Message-ID;
every other email arrives once, and the record counts the second attempt."""

from __future__ import annotations

import email
import email.policy
import threading
from collections import Counter
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiosmtpd.controller import Controller
from entitle_cli.webhook_client import post_order, sample_order
from entitle_dev.stack import SERVICES, Stack, StackConfig, free_port

from services.runtime.db import with_database
from tests.helpers import eventually, wait_until
from tests.infra import embedded

ORDERS = 30
KILL_AT = 8
SESSIONS = 4


class KillWhileAccepting:
    """Kills notification (SIGKILL) inside the DATA of its KILL_AT-th message, before the
    server answers "250": that message, and any other accepted and not yet recorded, is
    in flight."""

    def __init__(self) -> None:
        self.stack: Stack | None = None
        self.messages: list[EmailMessage] = []
        self.killed = threading.Event()
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
            kill = len(self.messages) == KILL_AT
        if kill and self.stack is not None:
            self.stack.kill_service("notification")
            self.killed.set()
        return "250 accepted"


async def test_a_crash_while_sending_resends_only_what_was_in_flight(servers_dir: Path) -> None:
    server = KillWhileAccepting()
    controller = Controller(server, hostname="127.0.0.1", port=free_port())
    controller.start()
    with embedded(servers_dir / "infra") as infra:
        config = StackConfig.ephemeral(servers_dir / "stack")
        config.database_url, config.kafka_bootstrap = infra.database_url, infra.bootstrap
        config.kafka_idempotence = False
        config.smtp_port = controller.port
        config.start_mail_capture = False
        config.extra_env = {
            "ENTITLE_KAFKA_SESSION_TIMEOUT_MS": "4000",
            "ENTITLE_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
            "ENTITLE_SMTP_CONNECTIONS": str(SESSIONS),
            "ENTITLE_SEND_LEASE_SECONDS": "4",
        }
        stack = Stack(config)
        server.stack = stack
        stack.start_infrastructure()
        try:
            # The backlog builds while notification is down, so it takes it up at once.
            others = [s for s in SERVICES if s != "notification"]
            stack.start_services(others)
            stack.wait_ready(others, timeout=120)
            orders = [sample_order() for _ in range(ORDERS)]
            with httpx.Client(timeout=10) as client:
                url = f"{stack.url('ingress')}/webhooks/orders"
                for order in orders:
                    sent = post_order(client, url, stack.secrets.webhook_secret, order)
                    assert sent.status_code == 202
            await eventually(lambda: _covered(stack, ORDERS), timeout=120)
            stack.start_service("notification")
            wait_until(server.killed.is_set, timeout=120)
            stack.start_service("notification")
            ours = {o["order_id"] for o in orders}
            wait_until(
                lambda: {m["X-Entitle-Correlation"] for m in server.messages} >= ours, timeout=120
            )
            recorded = await eventually(lambda: _all_sent(stack), timeout=60)

            by_id = Counter(m["Message-ID"] for m in server.messages)
            resent = {message_id for message_id, n in by_id.items() if n > 1}
            assert len(by_id) == ORDERS
            assert max(by_id.values()) == 2
            assert 1 <= len(resent) <= SESSIONS, sorted(by_id.values())
            assert server.messages[KILL_AT - 1]["Message-ID"] in resent
            assert len(server.messages) == ORDERS + len(resent)
            attempts = {message_id: n for message_id, n in recorded}
            assert set(attempts) == set(by_id)
            assert all(attempts[message_id] >= 2 for message_id in resent)
        finally:
            stack.stop()
            controller.stop()


async def _connect(stack: Stack, service: str) -> asyncpg.Connection:
    return await asyncpg.connect(with_database(stack.database_url, f"entitle_{service}"))


async def _covered(stack: Stack, count: int) -> bool:
    conn = await _connect(stack, "maintenance")
    try:
        return bool(await conn.fetchval("select count(*) from coverage_periods") >= count)
    finally:
        await conn.close()


async def _all_sent(stack: Stack) -> list[tuple[str, int]]:
    conn = await _connect(stack, "notification")
    try:
        rows = await conn.fetch("select status, message_id, attempts from deliveries")
    finally:
        await conn.close()
    if len(rows) < ORDERS or any(r["status"] != "sent" for r in rows):
        return []
    return [(r["message_id"], r["attempts"]) for r in rows]
