from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from entitle_events import Event, EventData, new_event
from entitle_events.commerce import OrderPlaced
from entitle_events.licensing import LicenseIssued, ReleasePublished

from services.maintenance.bootstrap import build
from services.maintenance.entrypoints.dependencies import MaintenanceDependencies
from services.maintenance.handlers.licenses import on_licenses_issued, on_release_published
from services.maintenance.handlers.notices import NoticeKind, send_notices
from services.maintenance.handlers.orders import on_orders_placed
from services.maintenance.settings import MaintenanceSettings
from services.policy.catalog import Catalog
from services.policy.catalog.loader import DEMO_CATALOG
from services.runtime.clock import FixedClock
from services.runtime.context import Context
from services.runtime.http import create_app
from services.runtime.service import Runtime
from tests.conftest import settings_for
from tests.infra import Infra

ADMIN = {"authorization": "Bearer admin-key"}
ACME = {"authorization": "Bearer acme-key"}
OTHER = {"authorization": "Bearer other-key"}
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, 0, tzinfo=UTC)


@dataclass
class Maintenance:
    settings: MaintenanceSettings
    clock: FixedClock
    emitted: list[EventData]
    runtime: Runtime = field(init=False)
    client: httpx.AsyncClient = field(init=False)

    async def start(self) -> None:
        definition = build(self.settings)
        # Jobs are run by hand (send_notices) so that tests decide when they run.
        definition.jobs = lambda runtime: []
        app = create_app(definition, self.clock)
        self.runtime = app.state.runtime
        await self.runtime.start()
        transport = httpx.ASGITransport(app=app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://maintenance")

    async def stop(self) -> None:
        await self.client.aclose()
        await self.runtime.stop()

    @property
    def catalog(self) -> Catalog:
        dependencies = self.runtime.definition.dependencies
        assert isinstance(dependencies, MaintenanceDependencies)
        return dependencies.catalog

    def event(self, data: EventData, subject: str) -> Event[Any]:
        return new_event(data, source="test", subject=subject, time=self.clock.now())

    async def apply(self, handler: Callable[..., Any], event: Event[Any], *args: Any) -> Any:
        async with self.runtime.transaction(cause=event) as ctx:
            return await handler(ctx, event, *args)

    async def apply_all(
        self, handler: Callable[..., Any], events: list[Event[Any]], *args: Any
    ) -> None:
        """Apply `events` at once through a batch handler, as the consumer does."""
        async with self.runtime.transaction() as ctx:
            await handler(ctx, events, *args)

    def license_event(
        self,
        purchased_at: datetime,
        major: int = 5,
        plan: str | None = "backup-care-12",
        **overrides: Any,
    ) -> Event[LicenseIssued]:
        license_id = str(uuid.uuid4())
        fields: dict[str, Any] = {"product": "backup-pro", "edition": "server", "sku": "BP-SRV"}
        fields.update(overrides)
        data = LicenseIssued(
            license_id=license_id,
            license_key=f"BP-{uuid.uuid4().hex[:16].upper()}",
            account_id="acme",
            kind="perpetual",
            **fields,
            company="ACME GmbH",
            contact_email="it@acme.example",
            order_id=f"O-{uuid.uuid4().hex[:8]}",
            line_id="1",
            purchased_at=purchased_at,
            major_version=major,
            max_activations=1,
            payment_mode="annual",
            maintenance_plan=plan,
            coverage_expected=plan is not None,
        )
        return self.event(data, license_id)

    async def issue(
        self,
        purchased_at: datetime,
        major: int = 5,
        plan: str | None = "backup-care-12",
        **overrides: Any,
    ) -> LicenseIssued:
        event = self.license_event(purchased_at, major, plan, **overrides)
        await self.apply_all(on_licenses_issued, [event], self.catalog)
        return event.data

    def order_event(
        self, placed_at: datetime, *lines: dict[str, Any], order_id: str | None = None
    ) -> Event[OrderPlaced]:
        oid = order_id or f"O-{uuid.uuid4().hex[:10]}"
        data = OrderPlaced.model_validate(
            {
                "order_id": oid,
                "placed_at": placed_at.isoformat(),
                "currency": "EUR",
                "payment_mode": "annual",
                "buyer": {"account_id": "acme", "company": "ACME GmbH", "email": "it@acme.example"},
                "lines": [
                    {"line_id": str(i + 1), "quantity": 1, "unit_price": "59.00", **line}
                    for i, line in enumerate(lines)
                ],
            }
        )
        return self.event(data, oid)

    async def order(
        self, placed_at: datetime, *lines: dict[str, Any], order_id: str | None = None
    ) -> Event[OrderPlaced]:
        event = self.order_event(placed_at, *lines, order_id=order_id)
        await self.apply_all(on_orders_placed, [event], self.catalog)
        return event

    async def renew(self, key: str, placed_at: datetime) -> Event[OrderPlaced]:
        return await self.order(placed_at, {"sku": "BP-CARE-12", "license_key": key})

    async def renew_with(self, key: str, sku: str) -> Event[OrderPlaced]:
        """An order, placed now, renewing `key` with the maintenance `sku`."""
        return await self.order(self.clock.now(), {"sku": sku, "license_key": key})

    async def publish(
        self, version: str, released_at: datetime, product: str = "backup-pro"
    ) -> None:
        major, minor, patch = (int(x) for x in version.split("."))
        data = ReleasePublished(
            product=product,
            version=version,
            major=major,
            minor=minor,
            patch=patch,
            released_at=released_at,
            release_kind="update" if minor == patch == 0 else "maintenance",
        )
        await self.apply(on_release_published, self.event(data, product))

    async def notices(self, kind: NoticeKind) -> int:
        return await send_notices(self.runtime, self.catalog, kind)

    def of(self, cls: type[EventData], license_id: str | None = None) -> list[Any]:
        return [
            e
            for e in self.emitted
            if isinstance(e, cls)
            and (license_id is None or getattr(e, "license_id", None) == license_id)
        ]

    async def coverage(self, key: str, headers: dict[str, str] = ADMIN) -> dict[str, Any]:
        response = await self.client.get(f"/coverage/{key}", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def money(text: str) -> Decimal:
    return Decimal(text)


PRESETS = DEMO_CATALOG.parent


@asynccontextmanager
async def running(
    infra: Infra, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalog_path: Path | None
) -> AsyncIterator[Maintenance]:
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(
        json.dumps(
            [
                {
                    "key": "acme-key",
                    "scopes": ["coverage:read", "coverage:write"],
                    "account_id": "acme",
                },
                {
                    "key": "other-key",
                    "scopes": ["coverage:read", "coverage:write"],
                    "account_id": "other",
                },
                {"key": "read-only", "scopes": ["coverage:read"]},
            ]
        )
    )
    settings = settings_for(
        infra,
        MaintenanceSettings,
        admin_api_key="admin-key",
        api_keys_file=keys_file,
        catalog_path=catalog_path,
    )
    emitted: list[EventData] = []
    original = Context.emit

    def recording(self: Context, data: Any, **kwargs: Any) -> Any:
        emitted.append(data)
        return original(self, data, **kwargs)

    monkeypatch.setattr(Context, "emit", recording)
    service = Maintenance(settings, FixedClock(NOW), emitted)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


@pytest.fixture
async def maintenance(
    infra: Infra, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Maintenance]:
    async with running(infra, tmp_path, monkeypatch, None) as service:
        yield service


@pytest.fixture
def maintenance_for(
    infra: Infra, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], AbstractAsyncContextManager[Maintenance]]:
    """Maintenance in process on one catalog preset: `async with maintenance_for("x.toml")`."""

    def start(preset: str) -> AbstractAsyncContextManager[Maintenance]:
        assert (PRESETS / preset).is_file(), preset
        return running(infra, tmp_path, monkeypatch, PRESETS / preset)

    return start
