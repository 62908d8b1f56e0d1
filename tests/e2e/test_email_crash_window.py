"""The one window of the email guarantee, shown exactly: the notification service is killed
after the SMTP server accepted a message and before it recorded the send. After restart the
email goes out again with the same Message-ID, the one receiving systems drop duplicates
by; nothing is lost, and the delivery is recorded once."""

from __future__ import annotations

import email
import email.policy
import threading
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiosmtpd.controller import Controller

from services.cli.webhook_client import post_order, sample_order
from services.devstack.stack import Stack, StackConfig, free_port
from services.runtime.db import with_database
from tests.helpers import eventually, wait_until
from tests.infra import embedded


class KillOnFirstMessage:
    def __init__(self) -> None:
        self.stack: Stack | None = None
        self.messages: list[EmailMessage] = []
        self.killed = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        if not self.killed.is_set() and self.stack is not None:
            self.killed.set()
            self.stack.kill_service("notification")  # SIGKILL before it hears "250"
        return "250 accepted"


async def test_a_crash_between_smtp_accept_and_commit_resends_with_the_same_message_id(
    tmp_path: Path,
) -> None:
    server = KillOnFirstMessage()
    controller = Controller(server, hostname="127.0.0.1", port=free_port())
    controller.start()
    with embedded(tmp_path / "infra") as infra:
        config = StackConfig.ephemeral(tmp_path / "stack")
        config.database_url, config.kafka_bootstrap = infra.database_url, infra.bootstrap
        config.kafka_idempotence = False
        config.smtp_port = controller.port
        config.start_mail_capture = False
        config.extra_env = {
            "ENTITLE_KAFKA_SESSION_TIMEOUT_MS": "4000",
            "ENTITLE_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
        }
        stack = Stack(config)
        server.stack = stack
        stack.start_infrastructure()
        try:
            stack.start_services()
            stack.wait_ready(timeout=120)
            order = sample_order()
            with httpx.Client(timeout=10) as client:
                url = f"{stack.url('ingress')}/webhooks/orders"
                assert (
                    post_order(client, url, stack.secrets.webhook_secret, order).status_code == 202
                )
            wait_until(server.killed.is_set, timeout=60)
            stack.start_service("notification")
            wait_until(lambda: len(server.messages) >= 2, timeout=90)

            first, again = server.messages[:2]
            assert first["Message-ID"] == again["Message-ID"]
            assert first["X-Entitle-Correlation"] == again["X-Entitle-Correlation"]
            conn = await asyncpg.connect(with_database(stack.database_url, "entitle_notification"))

            async def recorded() -> list[tuple[str, str]]:
                rows = await conn.fetch(
                    "select status, message_id from deliveries where correlation_id = $1",
                    order["order_id"],
                )
                found = [(r["status"], r["message_id"]) for r in rows]
                # The send is recorded just after the SMTP server's answer: wait for it.
                return found if all(status != "pending" for status, _ in found) else []

            try:
                assert await eventually(recorded) == [("sent", first["Message-ID"])]
            finally:
                await conn.close()
        finally:
            stack.stop()
            controller.stop()
