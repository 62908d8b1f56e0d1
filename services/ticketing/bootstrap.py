"""Composition root of ticketing: the entitlement projection (licenses, coverage, orders,
releases) that open tickets follow, the ticket and desk API, and the schedulers (SLA
warnings and breaches, auto-close, entitlement that changes by time, the open-tickets
gauge)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from entitle_events import Event, EventData
from entitle_events.commerce import OrderPlaced, OrderRefunded
from entitle_events.licensing import ReleasePublished
from entitle_events.topics import TICKETING_TICKETS

from services.policy.catalog import load_catalog
from services.runtime.consumer import Handler, Subscriptions
from services.runtime.context import Context
from services.runtime.replay import Projection
from services.runtime.scheduler import Job
from services.runtime.service import Runtime, ServiceDefinition
from services.runtime.settings import load_settings

from .adapters import store
from .entrypoints.http import router
from .handlers import projection
from .handlers.common import Ticketing
from .handlers.entitlement import following, review_due
from .handlers.sla import auto_close_due, check_sla, refresh_open_gauge
from .settings import TicketingSettings

SETTINGS = TicketingSettings


def build(settings: TicketingSettings | None = None) -> ServiceDefinition:
    settings = settings or load_settings(TicketingSettings)
    catalog = load_catalog(settings.catalog_path)
    ticketing = Ticketing(settings, catalog)

    async def order_placed(ctx: Context, event: Event[Any]) -> None:
        await projection.on_order_placed(ctx, event, catalog, settings.support_plan_months)

    # The projection's own handlers (what `entitle replay` applies again) ...
    upserts: dict[type[EventData], Handler] = {
        **dict.fromkeys(projection.LICENSE_EVENTS, projection.on_license_event),
        **dict.fromkeys(projection.COVERAGE_EVENTS, projection.on_coverage_event),
        ReleasePublished: projection.on_release_published,
        OrderRefunded: projection.on_order_refunded,
        OrderPlaced: order_placed,
    }
    # ... and the consumer's: each entitlement change is followed by the open tickets of the
    # accounts it concerns (a release changes no tier).
    subscriptions = Subscriptions()
    for event_type, handler in upserts.items():
        followed = handler if event_type is ReleasePublished else following(ticketing, handler)
        subscriptions.on(event_type)(followed)

    async def on_start(runtime: Runtime) -> None:
        runtime.state["ticketing"] = ticketing

    return ServiceDefinition(
        name="ticketing",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        description="Support tickets whose SLA follows the customer's live entitlement.",
        subscriptions=subscriptions,
        routers=[router],
        publishes=[TICKETING_TICKETS],
        jobs=lambda runtime: [
            Job("sla", lambda: check_sla(runtime, ticketing), interval=5),
            Job("auto-close", lambda: auto_close_due(runtime, ticketing), interval=30),
            Job("entitlement-review", lambda: review_due(runtime, ticketing), interval=30),
            Job("open-tickets-gauge", lambda: refresh_open_gauge(runtime), interval=30),
        ],
        on_start=on_start,
        projections=[
            Projection(
                "entitlement",
                handlers={t.event_type: h for t, h in upserts.items()},
                # Tiers are decided again from the rebuilt facts by the review job.
                finish=store.review_all_open_tickets,
                tables=(
                    "ent_licenses",
                    "ent_coverage",
                    "ent_support_plans",
                    "ent_credit_grants",
                    "ent_partners",
                    "ent_releases",
                ),
                event_types=(
                    *projection.LICENSE_EVENTS,
                    *projection.COVERAGE_EVENTS,
                    ReleasePublished,
                    OrderPlaced,
                    OrderRefunded,
                ),
            )
        ],
    )
