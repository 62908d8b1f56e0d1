"""What the notification tests share: a real SMTP server (aiosmtpd) that can answer 4xx a
few times or 550 for chosen recipients, and the service running in-process against the real
broker and PostgreSQL."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from entitle_dev.stack import free_port
from entitle_events import Event, new_event
from entitle_events.licensing import LicenseIssued
from entitle_events.maintenance import UpgradeAvailable

from services.notification.bootstrap import build
from services.notification.handlers.events import on_customer_events
from services.notification.settings import NotificationSettings
from services.policy.catalog import load_catalog
from services.runtime.http import create_app
from services.runtime.service import Runtime
from tests.conftest import settings_for
from tests.infra import Infra

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
ADMIN = {"authorization": "Bearer admin-key"}


@dataclass
class Inbox:
    """An SMTP server that can answer 4xx a few times or 550 for chosen recipients."""

    messages: list[EmailMessage] = field(default_factory=list)
    temporary_failures: dict[str, int] = field(default_factory=dict)
    rejected: set[str] = field(default_factory=set)

    async def handle_RCPT(  # noqa: N802 - the name aiosmtpd calls
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.rejected:
            return "550 5.1.1 mailbox unavailable"
        if self.temporary_failures.get(address, 0) > 0:
            self.temporary_failures[address] -= 1
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@dataclass
class Notification:
    runtime: Runtime
    client: httpx.AsyncClient
    inbox: Inbox

    async def handle(self, event: Event[Any]) -> None:
        async with self.runtime.transaction(cause=event) as ctx:
            await on_customer_events(ctx, [event], load_catalog(), "test.example")
        self.runtime.wake()

    async def deliveries(self, **params: str) -> list[dict[str, Any]]:
        response = await self.client.get("/deliveries", params=params, headers=ADMIN)
        items: list[dict[str, Any]] = response.json()["items"]
        return items


Start = Callable[..., Awaitable[Notification]]


@pytest.fixture
async def start_notification(infra: Infra, tmp_path: Path) -> AsyncIterator[Start]:
    """Starts the service against its own SMTP server; `smtputf8` says whether that server
    offers SMTPUTF8, `api_keys` are scoped keys beside the admin key, `settings` override."""
    started: list[tuple[Runtime, Controller]] = []
    clients: list[httpx.AsyncClient] = []

    async def start(
        *, smtputf8: bool = False, api_keys: list[dict[str, Any]] | None = None, **settings: Any
    ) -> Notification:
        inbox = Inbox()
        controller = Controller(
            inbox, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=smtputf8
        )
        controller.start()
        keys_file = tmp_path / f"keys-{len(started)}.json"
        keys_file.write_text(json.dumps(api_keys or []))
        values = {
            "smtp_port": controller.port,
            "admin_api_key": "admin-key",
            "api_keys_file": keys_file,
            "send_backoff_initial": 0.05,
            "unsubscribe_secret": "s3cret",
            "portal_url": "http://notify.example",
            **settings,
        }
        app = create_app(build(settings_for(infra, NotificationSettings, **values)))
        runtime: Runtime = app.state.runtime
        await runtime.start()
        started.append((runtime, controller))
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://notification"
        )
        clients.append(client)
        return Notification(runtime, client, inbox)

    try:
        yield start
    finally:
        for client in clients:
            await client.aclose()
        for runtime, controller in started:
            await runtime.stop()
            controller.stop()


@pytest.fixture
async def notification(start_notification: Start) -> Notification:
    return await start_notification()


def issued(
    to: str,
    order: str = "O-1",
    license_id: str = "lic-1",
    of: int = 1,
    covered: bool = False,
    account: str = "acme",
) -> Event[Any]:
    data = LicenseIssued(
        license_id=license_id, license_key=f"KEY-{license_id}", product="backup-pro",
        account_id=account, kind="perpetual", edition="server", sku="BP-SRV", company="ACME",
        contact_email=to, order_id=order, line_id="1", purchased_at=NOW, major_version=5,
        max_activations=1, payment_mode="annual", licenses_in_order=of,
        coverage_expected=covered,
    )  # fmt: skip
    return new_event(data, source="licensing", subject=license_id, time=NOW, correlationid=order)


def upgrade(to: str) -> Event[Any]:
    data = UpgradeAvailable(
        license_id="lic-1", license_key="KEY-1", product="backup-pro", account_id="acme",
        contact_email=to, version="6.0.0", entitled=True,
    )  # fmt: skip
    return new_event(data, source="maintenance", subject="lic-1", time=NOW)
