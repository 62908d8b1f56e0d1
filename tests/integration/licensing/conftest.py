from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from entitle_events import Event, new_event
from entitle_events.commerce import OrderPlaced

from services.licensing.bootstrap import build
from services.licensing.domain.keys import KeyRing, generate_private_key
from services.licensing.entrypoints.dependencies import LicensingDependencies
from services.licensing.handlers.orders import on_orders_placed
from services.licensing.settings import LicensingSettings
from services.runtime.clock import FixedClock
from services.runtime.http import create_app
from services.runtime.service import Runtime
from tests.conftest import settings_for
from tests.helpers import order_data
from tests.infra import Infra

ADMIN = {"authorization": "Bearer admin-key"}
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@dataclass
class Licensing:
    runtime: Runtime
    client: httpx.AsyncClient
    clock: FixedClock

    @property
    def dependencies(self) -> LicensingDependencies:
        dependencies = self.runtime.definition.dependencies
        assert isinstance(dependencies, LicensingDependencies)
        return dependencies

    @property
    def keys(self) -> KeyRing:
        return self.dependencies.keys

    async def order(self, **overrides: Any) -> tuple[Event[OrderPlaced], list[dict[str, Any]]]:
        """Apply an order the way the consumer does; return the licenses it issued."""
        lines = overrides.pop("lines", None)
        data = order_data(
            **{k: overrides.pop(k) for k in ("order_id", "sku", "quantity") if k in overrides}
        )
        data["placed_at"] = overrides.pop("placed_at", NOW).isoformat()
        if lines is not None:
            data["lines"] = lines
        data.update(overrides)
        event = new_event(
            OrderPlaced.model_validate(data),
            source="ingress",
            subject=data["order_id"],
            time=self.clock.now(),
        )
        async with self.runtime.transaction(cause=event) as ctx:
            await on_orders_placed(ctx, [event], self.dependencies.catalog, self.keys)
        rows = await self.runtime.pool.fetch(
            "select * from licenses where order_id = $1 order by line_id, license_id",
            data["order_id"],
        )
        return event, [dict(r) for r in rows]


REPO_ROOT = Path(__file__).resolve().parents[3]
PRESETS = REPO_ROOT / "services" / "policy" / "catalog" / "presets"
API_KEYS = [
    {"key": "acme-key", "scopes": ["licenses:read"], "account_id": "acme"},
    {"key": "reseller-key", "scopes": ["licenses:read", "licenses:write"], "account_id": "resell"},
    {"key": "other-reseller", "scopes": ["licenses:read", "licenses:write"], "account_id": "other"},
]


@asynccontextmanager
async def running(
    infra: Infra, tmp_path: Path, catalog_path: Path | None = None
) -> AsyncIterator[Licensing]:
    """The licensing service in process, on the real database and broker."""
    keys_file = tmp_path / f"keys-{catalog_path.stem if catalog_path else 'demo'}.json"
    keys_file.write_text(json.dumps(API_KEYS))
    settings = settings_for(
        infra,
        LicensingSettings,
        signing_key=generate_private_key(),
        admin_api_key="admin-key",
        api_keys_file=keys_file,
        catalog_path=catalog_path,
    )
    clock = FixedClock(NOW)
    app = create_app(build(settings), clock)
    runtime: Runtime = app.state.runtime
    await runtime.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://licensing") as client:
        try:
            yield Licensing(runtime, client, clock)
        finally:
            await runtime.stop()


@pytest.fixture
async def licensing(infra: Infra, tmp_path: Path) -> AsyncIterator[Licensing]:
    async with running(infra, tmp_path) as service:
        yield service


@pytest.fixture
def licensing_for(
    infra: Infra, tmp_path: Path
) -> Callable[[str], AbstractAsyncContextManager[Licensing]]:
    """Start the in-process licensing service on one catalog preset, e.g.
    `async with licensing_for("msp-backup.toml") as shop: ...`."""

    def start(preset: str) -> AbstractAsyncContextManager[Licensing]:
        catalog_path = PRESETS / preset
        assert catalog_path.is_file(), f"no preset {catalog_path}"
        return running(infra, tmp_path, catalog_path)

    return start
