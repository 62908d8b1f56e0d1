"""Record the emails an event calls for; the sender job sends them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from entitle_events import Event
from entitle_events.portal import SignInRequested

from services.catalog import Catalog
from services.runtime import tracing
from services.runtime.context import Context
from services.runtime.errors import PermanentError
from services.runtime.sealed import SealError, unseal
from services.runtime.service import Runtime

from ..adapters import deliveries, digests
from ..adapters.templates import render
from ..domain.digest import complete, delivery_emails, license_item
from ..domain.mail_plan import PlannedEmail, plan_emails
from ..settings import NotificationSettings


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
                    item.order_id,
                    digest["recipient"],
                    digest["reseller_email"],
                    listed,
                    catalog,
                    account_id=digest["account_id"],
                    reseller_account_id=digest["reseller_account_id"],
                )
                await digests.mark_sent(ctx.conn, item.order_id)
    for email in emails:
        await _record(ctx, event, email, mail_domain)


async def on_sign_in_requested(
    ctx: Context,
    event: Event[SignInRequested],
    catalog: Catalog,
    seal_key: str | None,
    mail_domain: str,
) -> None:
    """The portal's sign-in link, opened here and nowhere else on its way."""
    data = event.data
    if seal_key is None:
        raise PermanentError(
            "SEAL_KEY_MISSING", "ENTITLE_SIGN_IN_SEAL_KEY is not set: sign-in links cannot open"
        )
    try:
        link = unseal(seal_key, data.sealed_link, data.email)
    except SealError as exc:
        raise PermanentError("SEALED_LINK_INVALID", str(exc)) from exc
    email = PlannedEmail(
        "sign_in",
        data.email,
        transactional=True,
        data={
            "link": link,
            "area": data.area,
            "expires_at": data.expires_at,
            "brand": catalog.brand.model_dump(),
        },
    )
    await _record(ctx, event, email, mail_domain)


async def _record(ctx: Context, event: Event[Any], email: PlannedEmail, mail_domain: str) -> None:
    await deliveries.record(
        ctx.conn,
        event_id=event.id,
        event_type=event.type,
        correlation_id=event.correlationid,
        account_id=email.account_id,
        traceparent=tracing.current_traceparent() or event.traceparent,
        template=email.template,
        recipient=email.recipient,
        transactional=email.transactional,
        rendered=render(email.template, email.data),
        domain=mail_domain,
        at=ctx.now(),
    )


async def flush_overdue_digests(
    runtime: Runtime, catalog: Catalog, settings: NotificationSettings
) -> int:
    """A license whose coverage never comes (maintenance refused it, say) must not hold back
    its order's email: after the wait, what is known goes out."""
    async with runtime.transaction() as ctx:
        before = ctx.now() - timedelta(seconds=settings.license_digest_wait_seconds)
        overdue = await digests.claim_overdue(ctx.conn, before, 50)
        for digest in overdue:
            listed = await digests.items(ctx.conn, digest["order_id"])
            for email in delivery_emails(
                digest["order_id"],
                digest["recipient"],
                digest["reseller_email"],
                listed,
                catalog,
                account_id=digest["account_id"],
                reseller_account_id=digest["reseller_account_id"],
            ):
                await deliveries.record(
                    ctx.conn,
                    event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"entitle:digest:{digest['order_id']}"),
                    event_type="entitle.notification.license-digest.overdue",
                    correlation_id=digest["order_id"],
                    account_id=email.account_id,
                    traceparent=None,
                    template=email.template,
                    recipient=email.recipient,
                    transactional=email.transactional,
                    rendered=render(email.template, email.data),
                    domain=settings.message_id_domain,
                    at=ctx.now(),
                )
            await digests.mark_sent(ctx.conn, digest["order_id"])
    return len(overdue)
