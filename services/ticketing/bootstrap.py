"""Composition root of ticketing.

The service runs with the shared runtime (database, outbox, health, metrics); its ticket
rules arrive with the ticketing capability.
"""

from __future__ import annotations

from pathlib import Path

from entitle_events.topics import TICKETING_TICKETS

from services.runtime.service import ServiceDefinition

from .settings import TicketingSettings


def build(settings: TicketingSettings | None = None) -> ServiceDefinition:
    return ServiceDefinition(
        name="ticketing",
        settings=settings or TicketingSettings(),
        migrations=Path(__file__).parent / "migrations",
        description="Support tickets whose SLA follows the customer's live entitlement.",
        publishes=[TICKETING_TICKETS],
    )
