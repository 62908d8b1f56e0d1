"""Composition root of ingress."""

from __future__ import annotations

from pathlib import Path

from entitle_events.topics import COMMERCE_ORDERS

from services.runtime.service import ServiceDefinition
from services.runtime.settings import load_settings

from .entrypoints.dependencies import IngressDependencies
from .entrypoints.http import FAST_ROUTES, REFUSAL_STATUS, router
from .handlers.receive_order import deliveries
from .settings import IngressSettings

SETTINGS = IngressSettings


def build(settings: IngressSettings | None = None) -> ServiceDefinition:
    return ServiceDefinition(
        name="ingress",
        settings=settings or load_settings(IngressSettings),
        migrations=Path(__file__).parent / "migrations",
        description="Receives the shop's signed order webhooks and publishes them to Kafka.",
        routers=[router],
        publishes=[COMMERCE_ORDERS],
        fast_routes=FAST_ROUTES,
        refusal_status=REFUSAL_STATUS,
        dependencies=IngressDependencies(deliveries()),
    )
