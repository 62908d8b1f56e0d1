"""Record the emails an event calls for; the sender job sends them."""

from __future__ import annotations

from typing import Any

from entitle_events import Event

from services.catalog import Catalog
from services.runtime.context import Context

from ..adapters import deliveries
from ..adapters.templates import render
from ..domain.mail_plan import plan_emails


async def on_customer_event(
    ctx: Context, event: Event[Any], catalog: Catalog, mail_domain: str
) -> None:
    for email in plan_emails(event, catalog):
        await deliveries.record(
            ctx.conn,
            event_id=event.id,
            event_type=event.type,
            correlation_id=event.correlationid,
            template=email.template,
            recipient=email.recipient,
            transactional=email.transactional,
            rendered=render(email.template, email.data),
            domain=mail_domain,
            at=ctx.now(),
        )
