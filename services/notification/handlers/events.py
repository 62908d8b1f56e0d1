"""Record the emails events call for; the sender job sends them.

Events come in lists (a consumer's fetch) and are applied with a constant number of
statements per list: every email of the list in one insert, and the license digests of all
its orders locked, read and written once each. Which event completes an order's digest, and
what its email lists, is decided one event after the other as if they came one at a time.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from entitle_events import Event
from entitle_events.portal import SignInRequested

from services.policy.catalog import Catalog
from services.runtime import tracing
from services.runtime.context import Context, Transactions
from services.runtime.errors import PermanentError
from services.runtime.sealed import SealError, unseal

from ..adapters import deliveries, digests
from ..adapters.templates import render
from ..domain.digest import Completion, LicenseItem, OrderDigests, delivery_emails, license_item
from ..domain.mail_plan import PlannedEmail, plan_emails
from ..domain.records import Digest, DigestItem, NewDelivery
from ..settings import NotificationSettings

OVERDUE_PER_RUN = 50


async def on_customer_events(
    ctx: Context, events: Sequence[Event[Any]], catalog: Catalog, mail_domain: str
) -> None:
    emails = [(event, email) for event in events for email in plan_emails(event, catalog)]
    licensed = [(event, item) for event in events if (item := license_item(event)) is not None]
    if licensed:
        emails += await _license_deliveries(ctx, licensed, catalog)
    await deliveries.record(
        ctx.conn,
        [_new_delivery(email, event, _traceparent(ctx, event)) for event, email in emails],
        mail_domain,
        ctx.now(),
    )


async def _license_deliveries(
    ctx: Context, licensed: list[tuple[Event[Any], LicenseItem]], catalog: Catalog
) -> list[tuple[Event[Any], PlannedEmail]]:
    """Add the events' licenses to their orders' digests; the delivery emails of the orders
    they complete, each from the event that completed it."""
    firsts: dict[str, LicenseItem] = {}
    for _, item in licensed:
        firsts.setdefault(item.order_id, item)
    # Every writer locks in the same order: two writers of the same orders never deadlock.
    in_order = sorted(firsts.values(), key=lambda item: item.order_id)
    locked = await digests.lock(ctx.conn, in_order, ctx.now())
    orders = OrderDigests(locked, await digests.items_of(ctx.conn, list(firsts)))
    completed: list[tuple[Event[Any], Completion]] = []
    for event, item in licensed:
        if (completion := orders.add(item)) is not None:
            completed.append((event, completion))
    await digests.store(ctx.conn, orders.digests, orders.changed_items)
    if not completed:
        return []
    # The email lists its licenses as the database orders them (product, license).
    listed = await digests.items_of(ctx.conn, [c.digest.order_id for _, c in completed])
    places = {(i.order_id, i.license_id): place for place, i in enumerate(listed)}
    return [
        (event, email)
        for event, completion in completed
        for email in _digest_emails(
            completion.digest,
            sorted(completion.items, key=lambda i: places[i.order_id, i.license_id]),
            catalog,
        )
    ]


def _digest_emails(digest: Digest, items: list[DigestItem], catalog: Catalog) -> list[PlannedEmail]:
    return delivery_emails(
        digest.order_id,
        digest.recipient,
        digest.reseller_email,
        items,
        catalog,
        account_id=digest.account_id,
        reseller_account_id=digest.reseller_account_id,
    )


def _traceparent(ctx: Context, event: Event[Any]) -> str | None:
    """The trace the email continues: its event's consumer span."""
    return ctx.traceparents.get(event.id) or tracing.current_traceparent() or event.traceparent


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
    delivery = _new_delivery(email, event, _traceparent(ctx, event))
    await deliveries.record(ctx.conn, [delivery], mail_domain, ctx.now())


def _new_delivery(email: PlannedEmail, event: Event[Any], traceparent: str | None) -> NewDelivery:
    return _rendered(
        email,
        event_id=event.id,
        event_type=event.type,
        correlation_id=event.correlationid,
        traceparent=traceparent,
    )


def _rendered(
    email: PlannedEmail,
    *,
    event_id: uuid.UUID,
    event_type: str,
    correlation_id: str | None,
    traceparent: str | None,
) -> NewDelivery:
    rendered = render(email.template, email.data)
    return NewDelivery(
        event_id=event_id,
        event_type=event_type,
        correlation_id=correlation_id,
        account_id=email.account_id,
        traceparent=traceparent,
        template=email.template,
        recipient=email.recipient,
        transactional=email.transactional,
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html,
    )


async def flush_overdue_digests(
    transactions: Transactions, catalog: Catalog, settings: NotificationSettings
) -> int:
    """A license whose coverage never comes (maintenance refused it, say) must not hold back
    its order's email: after the wait, what is known goes out."""
    async with transactions.transaction() as ctx:
        before = ctx.now() - timedelta(seconds=settings.license_digest_wait_seconds)
        overdue = await digests.claim_overdue(ctx.conn, before, OVERDUE_PER_RUN)
        if not overdue:
            return 0
        order_ids = [digest.order_id for digest in overdue]
        items: dict[str, list[DigestItem]] = {order_id: [] for order_id in order_ids}
        for item in await digests.items_of(ctx.conn, order_ids):
            items[item.order_id].append(item)
        emails = [
            _overdue_delivery(email, digest.order_id)
            for digest in overdue
            for email in _digest_emails(digest, items[digest.order_id], catalog)
        ]
        await deliveries.record(ctx.conn, emails, settings.message_id_domain, ctx.now())
        await digests.mark_sent(ctx.conn, order_ids)
    return len(overdue)


def _overdue_delivery(email: PlannedEmail, order_id: str) -> NewDelivery:
    return _rendered(
        email,
        event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"entitle:digest:{order_id}"),
        event_type="entitle.notification.license-digest.overdue",
        correlation_id=order_id,
        traceparent=None,
    )
