"""Composition root of licensing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from entitle_events import Event
from entitle_events.commerce import OrderPlaced, OrderRefunded
from entitle_events.topics import LICENSING_LICENSES, LICENSING_RELEASES

from services.policy.catalog import load_catalog
from services.runtime.consumer import Subscriptions
from services.runtime.context import Context
from services.runtime.grouped import Grouped
from services.runtime.replay import Projection
from services.runtime.scheduler import Job
from services.runtime.service import ServiceDefinition
from services.runtime.settings import SettingsError, load_settings

from .adapters import licenses
from .domain.keys import KeyRing
from .entrypoints.dependencies import LicensingDependencies
from .entrypoints.http import FAST_ROUTES, REFUSAL_STATUS, router
from .handlers.coverage import COVERAGE_EVENTS, on_coverage_events
from .handlers.expiry import expire_due
from .handlers.orders import on_order_refunded, on_orders_placed
from .settings import LicensingSettings

SETTINGS = LicensingSettings


def build(settings: LicensingSettings | None = None) -> ServiceDefinition:
    settings = settings or load_settings(LicensingSettings)
    if settings.signing_key is None:
        raise SettingsError(
            ["ENTITLE_SIGNING_KEY: not set; create one with `entitle keys generate`"]
        )
    catalog = load_catalog(settings.catalog_path)
    keys = KeyRing(
        settings.signing_key.get_secret_value(),
        settings.signing_key_id,
        settings.retired_public_keys,
    )
    subscriptions = Subscriptions()

    @subscriptions.on_batch(OrderPlaced)
    async def orders_placed(ctx: Context, events: Sequence[Event[Any]]) -> None:
        await on_orders_placed(ctx, events, catalog, keys)

    subscriptions.on(OrderRefunded)(on_order_refunded)
    subscriptions.on_batch(*COVERAGE_EVENTS)(on_coverage_events)

    return ServiceDefinition(
        name="licensing",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        description="Issues signed license keys, tracks activations and answers validation.",
        subscriptions=subscriptions,
        routers=[router],
        publishes=[LICENSING_LICENSES, LICENSING_RELEASES],
        jobs=lambda runtime: [Job("expire-licenses", lambda: expire_due(runtime), interval=5)],
        dependencies=LicensingDependencies(
            catalog,
            keys,
            timedelta(days=settings.license_file_ttl_days),
            Grouped(licenses.validation_facts_of),
        ),
        fast_routes=FAST_ROUTES,
        refusal_status=REFUSAL_STATUS,
        projections=[
            Projection(
                "coverage",
                tables=("coverage", "coverage_periods"),
                event_types=COVERAGE_EVENTS,
            )
        ],
    )
