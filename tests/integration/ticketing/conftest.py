from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from entitle_events import Event, EventData, new_event
from entitle_events.common import CoveragePeriod
from entitle_events.licensing import LicenseIssued
from entitle_events.maintenance import CoverageStarted
from entitle_events.topics import TICKETING_TICKETS

from services.policy.catalog.loader import DEMO_CATALOG
from services.runtime.clock import FixedClock
from services.runtime.http import create_app
from services.runtime.service import Runtime
from services.ticketing.bootstrap import build
from services.ticketing.entrypoints.dependencies import TicketingDependencies
from services.ticketing.handlers.common import Ticketing
from services.ticketing.settings import TicketingSettings
from tests.conftest import settings_for
from tests.helpers import eventually
from tests.infra import Infra
from tests.integration.kafka_tools import read_all

ADMIN = {"authorization": "Bearer admin-key"}
ACME = {"authorization": "Bearer acme-key"}
# Wednesday 2026-11-18 11:00 Berlin: inside business hours.
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
CATALOG = DEMO_CATALOG.parent / "backup-suite.toml"
PRODUCT = "backup-server"


@dataclass
class TicketingService:
    runtime: Runtime
    client: httpx.AsyncClient
    clock: FixedClock
    topic: str
    bootstrap: str

    @property
    def cfg(self) -> Ticketing:
        dependencies: TicketingDependencies = self.runtime.definition.dependencies  # type: ignore[assignment]
        return dependencies.ticketing

    async def deliver(self, data: EventData, subject: str = "s") -> None:
        """Apply an event the way the consumer does, through the registered handler."""
        event = new_event(data, source="test", subject=subject, time=self.clock.now())
        handler = self.runtime.definition.subscriptions.handlers[data.event_type]
        async with self.runtime.transaction(cause=event) as ctx:
            await handler(ctx, event)

    def purchase_events(
        self, account: str, *, covered_until: datetime | None = None, kind: str = "perpetual"
    ) -> tuple[Event[LicenseIssued], Event[CoverageStarted]]:
        """A license purchase: LicenseIssued then CoverageStarted (one year unless given)."""
        license_id = str(uuid.uuid4())
        ends = covered_until or self.clock.now() + timedelta(days=365)
        ref = {
            "license_id": license_id,
            "license_key": f"KEY-{license_id[:8]}",
            "product": PRODUCT,
            "account_id": account,
        }
        issued = LicenseIssued(
            **ref,
            kind=kind,
            edition="server",
            sku="BS-SRV",
            company="ACME GmbH",
            contact_email="it@acme.example",
            order_id=f"O-{license_id[:8]}",
            line_id="1",
            purchased_at=self.clock.now(),
            major_version=18,
            max_activations=1,
            payment_mode="annual",
        )
        started = CoverageStarted(
            **ref,
            contact_email="it@acme.example",
            plan="care",
            periods=[CoveragePeriod(starts_at=self.clock.now(), ends_at=ends, source="included")],
            ends_at=ends,
        )
        now = self.clock.now()
        return (
            new_event(issued, source="licensing", subject=license_id, time=now),
            new_event(started, source="maintenance", subject=license_id, time=now),
        )

    async def buy_license(
        self, account: str, *, covered: bool = True, kind: str = "perpetual"
    ) -> str:
        """Apply a purchase through the handlers; return the license id."""
        issued, started = self.purchase_events(account, kind=kind)
        await self.deliver(issued.data, issued.subject)
        if covered:
            await self.deliver(started.data, started.subject)
        return issued.data.license_id

    async def open(
        self, account: str = "acme", headers: dict[str, str] | None = None, **fields: Any
    ) -> httpx.Response:
        body = {
            "account_id": account,
            "email": "it@acme.example",
            "product": PRODUCT,
            "version": "18.0",
            "kind": "technical",
            "subject": "Backup fails",
            "body": "Job 7 fails with error 42.",
            **fields,
        }
        return await self.client.post("/tickets", json=body, headers=headers or ADMIN)

    async def post(self, number: str, action: str, body: Any = None) -> httpx.Response:
        return await self.client.post(f"/tickets/{number}/{action}", json=body, headers=ADMIN)

    async def published(self, event_type: str) -> list[dict[str, Any]]:
        """The payloads of `event_type` on the ticket topic, once the outbox is drained."""

        async def drained() -> bool:
            return bool(await self.runtime.pool.fetchval("select count(*) from outbox") == 0)

        await eventually(drained, timeout=20)
        found = []
        for record in await read_all(self.bootstrap, self.topic):
            headers = dict(record.headers)
            if headers.get("ce_type") == event_type.encode():
                assert record.value is not None
                found.append(json.loads(record.value))
        return found


@asynccontextmanager
async def running(
    infra: Infra, tmp_path: Path, **overrides: Any
) -> AsyncIterator[TicketingService]:
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(
        json.dumps(
            [
                {
                    "key": "acme-key",
                    "scopes": ["tickets:read", "tickets:write"],
                    "account_id": "acme",
                },
                {
                    "key": "other-key",
                    "scopes": ["tickets:read", "tickets:write"],
                    "account_id": "other",
                },
            ]
        )
    )
    settings = settings_for(
        infra,
        TicketingSettings,
        admin_api_key="admin-key",
        api_keys_file=keys_file,
        catalog_path=CATALOG,
        **overrides,
    )
    definition = build(settings)
    definition.jobs = lambda runtime: ()  # tests run the job functions with a moved clock
    clock = FixedClock(NOW)
    app = create_app(definition, clock)
    runtime: Runtime = app.state.runtime
    await runtime.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ticketing") as client:
        try:
            yield TicketingService(
                runtime,
                client,
                clock,
                settings.kafka_topic_prefix + TICKETING_TICKETS,
                infra.bootstrap,
            )
        finally:
            await runtime.stop()


@pytest.fixture
async def ticketing(infra: Infra, tmp_path: Path) -> AsyncIterator[TicketingService]:
    async with running(infra, tmp_path) as service:
        yield service


@pytest.fixture
async def forum_ticketing(infra: Infra, tmp_path: Path) -> AsyncIterator[TicketingService]:
    async with running(infra, tmp_path, forum_only_without_plan=True) as service:
        yield service
