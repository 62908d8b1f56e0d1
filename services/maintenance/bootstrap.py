"""Composition root of maintenance."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from entitle_events import Event
from entitle_events.commerce import OrderPlaced, OrderRefunded
from entitle_events.licensing import (
    LicenseAssigned,
    LicenseDeactivated,
    LicenseExpired,
    LicenseIssued,
    LicenseReinstated,
    LicenseRenewed,
    LicenseRevoked,
    LicenseSuspended,
    LicenseTransferred,
    ReleasePublished,
)
from entitle_events.topics import MAINTENANCE_COVERAGE

from services.policy.catalog import load_catalog
from services.runtime.consumer import Subscriptions
from services.runtime.context import Context
from services.runtime.scheduler import Job
from services.runtime.service import Runtime, ServiceDefinition
from services.runtime.settings import load_settings

from .entrypoints.dependencies import MaintenanceDependencies
from .entrypoints.http import REFUSAL_STATUS, router
from .handlers import licenses
from .handlers.notices import fan_out_release, send_notices
from .handlers.orders import on_order_refunded, on_orders_placed
from .settings import MaintenanceSettings

SETTINGS = MaintenanceSettings


def build(settings: MaintenanceSettings | None = None) -> ServiceDefinition:
    settings = settings or load_settings(MaintenanceSettings)
    catalog = load_catalog(settings.catalog_path)
    subscriptions = Subscriptions()

    @subscriptions.on_batch(LicenseIssued)
    async def licenses_issued(ctx: Context, events: Sequence[Event[Any]]) -> None:
        await licenses.on_licenses_issued(ctx, events, catalog)

    @subscriptions.on_batch(OrderPlaced)
    async def orders_placed(ctx: Context, events: Sequence[Event[Any]]) -> None:
        await on_orders_placed(ctx, events, catalog)

    @subscriptions.on(OrderRefunded)
    async def order_refunded(ctx: Context, event: Event[Any]) -> None:
        await on_order_refunded(ctx, event, catalog)

    @subscriptions.on(ReleasePublished)
    async def release_published(ctx: Context, event: Event[Any]) -> None:
        await licenses.on_release_published(ctx, event)

    subscriptions.on(LicenseRevoked)(licenses.on_license_revoked)
    subscriptions.on(LicenseExpired)(licenses.on_license_expired)
    subscriptions.on(LicenseRenewed)(licenses.on_license_renewed)
    subscriptions.on(LicenseDeactivated)(licenses.on_license_deactivated)
    subscriptions.on(LicenseSuspended)(licenses.on_license_suspended)
    subscriptions.on(LicenseReinstated)(licenses.on_license_reinstated)
    subscriptions.on(LicenseTransferred, LicenseAssigned)(licenses.on_license_owner)

    def jobs(runtime: Runtime) -> list[Job]:
        return [
            Job("coverage.expiring", lambda: send_notices(runtime, catalog, "expiring"), 5),
            Job("coverage.lapsed", lambda: send_notices(runtime, catalog, "lapsed"), 5),
            # Releases are rare: a second's wait for the first page, rather than a look
            # after every commit of the consumer.
            Job("release.fanout", lambda: fan_out_release(runtime, catalog), 1),
        ]

    return ServiceDefinition(
        name="maintenance",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        description="Maintenance coverage, renewals, upgrade eligibility and notices.",
        subscriptions=subscriptions,
        routers=[router],
        publishes=[MAINTENANCE_COVERAGE],
        jobs=jobs,
        refusal_status=REFUSAL_STATUS,
        dependencies=MaintenanceDependencies(catalog=catalog),
    )
