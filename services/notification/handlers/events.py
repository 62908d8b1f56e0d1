"""Record the emails an event calls for; the sender job sends them."""

from __future__ import annotations

from typing import Any

from entitle_events import Event

from services.catalog import Catalog
from services.runtime.context import Context

from ..adapters import deliveries, digests
from ..adapters.templates import render
from ..domain.digest import complete, delivery_emails, license_item
from ..domain.mail_plan import PlannedEmail, plan_emails


async def on_customer_event(
    ctx: Context, event: Event[Any], catalog: Catalog, mail_domain: str
) -> None:
    emails = plan_emails(event, catalog)
    item = license_item(event)
    if item is not None:
        digest = await digests.add(ctx.conn, item, ctx.now())
        if not digest["sent"]:
            listed = await digests.items(ctx.conn, item.order_id)
            if complete(digest["expected"], sum(i["ready"] for i in listed)):
                emails += delivery_emails(
                    item.order_id, digest["recipient"], digest["reseller_email"], listed, catalog
                )
                await digests.mark_sent(ctx.conn, item.order_id)
    for email in emails:
        await _record(ctx, event, email, mail_domain)


async def _record(ctx: Context, event: Event[Any], email: PlannedEmail, mail_domain: str) -> None:
    await deliveries.record(
        ctx.conn,
        event_id=event.id,
        event_type=event.type,
        correlation_id=event.correlationid,
        traceparent=event.traceparent,
        template=email.template,
        recipient=email.recipient,
        transactional=email.transactional,
        rendered=render(email.template, email.data),
        domain=mail_domain,
        at=ctx.now(),
    )
