"""A minimal service on the shared runtime, for testing the runtime's guarantees."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from entitle_events import Event
from entitle_events.commerce import OrderPlaced, OrderRefunded

from services.runtime.consumer import Subscriptions
from services.runtime.context import Context
from services.runtime.errors import PermanentError, Refused
from services.runtime.service import ServiceDefinition
from services.runtime.settings import RuntimeSettings

MIGRATIONS = Path(__file__).parent / "probe_migrations"


def probe_definition(
    settings: RuntimeSettings, batches: list[int] | None = None
) -> ServiceDefinition:
    """With `batches`, orders are applied by a batch handler that appends the size of each
    run it is given."""
    subscriptions = Subscriptions()

    async def placed(ctx: Context, event: Event[Any]) -> None:
        order_id = event.data.order_id
        if order_id.startswith("PERM"):
            raise Refused("RULE_VIOLATED", f"order {order_id} breaks a rule")
        if await ctx.conn.fetchval("select 1 from blocked where order_id = $1", order_id):
            raise PermanentError("BLOCKED", f"order {order_id} is blocked")
        if order_id.startswith("BUG"):
            raise RuntimeError(f"unexpected failure for {order_id}")
        await ctx.conn.execute(
            "insert into effects (event_id, order_id) values ($1, $2)", event.id, order_id
        )
        ctx.emit(
            OrderRefunded(order_id=order_id, refunded_at=ctx.now(), reason="probe"),
            subject=order_id,
        )

    async def placed_together(ctx: Context, events: Sequence[Event[Any]]) -> None:
        assert batches is not None
        batches.append(len(events))
        for event in events:  # the rules, one event at a time
            if event.data.order_id.startswith(("PERM", "BUG")):
                await placed(ctx, event)
        await ctx.conn.execute(  # the effects, in one statement for the run
            "insert into effects (event_id, order_id) select * from unnest($1::uuid[], $2::text[])",
            [e.id for e in events],
            [e.data.order_id for e in events],
        )
        for event in events:
            refund = OrderRefunded(order_id=event.data.order_id, refunded_at=ctx.now())
            ctx.emit(refund, subject=event.data.order_id, cause=event)

    if batches is None:
        subscriptions.on(OrderPlaced)(placed)
    else:
        subscriptions.on_batch(OrderPlaced)(placed_together)

    return ServiceDefinition(
        name=settings.service,
        settings=settings,
        migrations=MIGRATIONS,
        subscriptions=subscriptions,
        publishes=["commerce.orders"],
    )
