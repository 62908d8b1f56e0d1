"""Composition root of ticketing: the entitlement projection (licenses, coverage, orders,
releases) that open tickets follow, the ticket and desk API, and the schedulers (SLA
warnings and breaches, auto-close, entitlement that changes by time, the open-tickets
gauge)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from entitle_events import Event, EventData
from entitle_events.commerce import OrderPlaced, OrderRefunded
from entitle_events.licensing import ReleasePublished
from entitle_events.topics import TICKETING_TICKETS

from services.policy.catalog import load_catalog
from services.runtime.consumer import BatchHandler, Handler, Subscriptions
from services.runtime.context import Context
from services.runtime.replay import Projection
from services.runtime.scheduler import Job
from services.runtime.service import ServiceDefinition
from services.runtime.settings import load_settings

from .adapters import store
from .entrypoints.dependencies import TicketingDependencies
from .entrypoints.http import REFUSAL_STATUS, router
from .handlers import projection
from .handlers.common import Ticketing
from .handlers.entitlement import following, review_due
from .handlers.sla import auto_close_due, check_sla, refresh_open_gauge
from .settings import TicketingSettings

SETTINGS = TicketingSettings


def _one_at_a_time(handler: Handler) -> BatchHandler:
    """An event handler applied to each event of a list, in order."""

    async def each(ctx: Context, events: Sequence[Event[Any]]) -> None:
        for event in events:
            await handler(ctx, event)

    return each


def _one_of(handler: BatchHandler) -> Handler:
    """A batch handler applied to one event (how `entitle replay` applies events)."""

    async def one(ctx: Context, event: Event[Any]) -> None:
        await handler(ctx, [event])

    return one


def build(settings: TicketingSettings | None = None) -> ServiceDefinition:
    settings = settings or load_settings(TicketingSettings)
    catalog = load_catalog(settings.catalog_path)
    ticketing = Ticketing(settings, catalog)

    async def order_placed(ctx: Context, event: Event[Any]) -> None:
        await projection.on_order_placed(ctx, event, catalog, settings.support_plan_months)

    # The projection's own handlers (what `entitle replay` applies again, an event at a
    # time) ...
    license_events, coverage_events = projection.on_license_events, projection.on_coverage_events
    upserts: dict[type[EventData], Handler] = {
        **dict.fromkeys(projection.LICENSE_EVENTS, _one_of(license_events)),
        **dict.fromkeys(projection.COVERAGE_EVENTS, _one_of(coverage_events)),
        ReleasePublished: _one_of(projection.on_releases_published),
        OrderRefunded: projection.on_order_refunded,
        OrderPlaced: order_placed,
    }
    # ... and the consumer's: each entitlement change is followed by the open tickets of the
    # accounts it concerns (a release changes no tier). License, coverage and release events
    # apply a list at a time.
    subscriptions = Subscriptions()
    subscriptions.on_batch(*projection.LICENSE_EVENTS)(following(ticketing, license_events))
    subscriptions.on_batch(*projection.COVERAGE_EVENTS)(following(ticketing, coverage_events))
    subscriptions.on_batch(ReleasePublished)(projection.on_releases_published)
    for event_type in (OrderPlaced, OrderRefunded):
        apply = _one_at_a_time(upserts[event_type])
        subscriptions.on(event_type)(_one_of(following(ticketing, apply)))

    return ServiceDefinition(
        name="ticketing",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        description="Support tickets whose SLA follows the customer's live entitlement.",
        subscriptions=subscriptions,
        routers=[router],
        refusal_status=REFUSAL_STATUS,
        dependencies=TicketingDependencies(ticketing),
        publishes=[TICKETING_TICKETS],
        jobs=lambda runtime: [
            Job("sla", lambda: check_sla(runtime, ticketing), interval=5),
            Job("auto-close", lambda: auto_close_due(runtime, ticketing), interval=30),
            Job("entitlement-review", lambda: review_due(runtime, ticketing), interval=30),
            Job("open-tickets-gauge", lambda: refresh_open_gauge(runtime), interval=30),
        ],
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
