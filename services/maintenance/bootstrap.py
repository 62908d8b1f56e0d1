"""Composition root of maintenance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from entitle_events import Event
from entitle_events.licensing import LicenseIssued
from entitle_events.topics import MAINTENANCE_COVERAGE

from services.catalog import load_catalog
from services.runtime.consumer import Subscriptions
from services.runtime.context import Context
from services.runtime.service import ServiceDefinition

from .entrypoints.http import router
from .handlers.licenses import on_license_issued
from .settings import MaintenanceSettings


def build(settings: MaintenanceSettings | None = None) -> ServiceDefinition:
    settings = settings or MaintenanceSettings()
    catalog = load_catalog(settings.catalog_path)
    subscriptions = Subscriptions()

    @subscriptions.on(LicenseIssued)
    async def license_issued(ctx: Context, event: Event[Any]) -> None:
        await on_license_issued(ctx, event, catalog)

    return ServiceDefinition(
        name="maintenance",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        description="Maintenance coverage, renewals, upgrade eligibility and notices.",
        subscriptions=subscriptions,
        routers=[router],
        publishes=[MAINTENANCE_COVERAGE],
    )
