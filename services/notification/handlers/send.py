"""The sender job: claims due deliveries, sends them, records the outcome.

Exactly one email per (event, template, recipient): the delivery row is unique on that
triple and is marked sent in the same transaction that emits `notification.sent`. The one
window left is a crash after the SMTP server accepted and before that commit; the email is
then sent again with the same Message-ID, which receiving systems use to drop duplicates.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

from entitle_events.notification import (
    NotificationFailed,
    NotificationSent,
    NotificationSuppressed,
)
from opentelemetry.trace import SpanKind

from services.runtime import tracing
from services.runtime.context import Context
from services.runtime.service import Runtime

from ..adapters import deliveries
from ..adapters.mime import Envelope, build_message
from ..adapters.smtp import MailerPool, SendResult
from ..domain.unsubscribe import UnsubscribeLinks
from ..metrics import EMAILS, Outcome
from ..settings import NotificationSettings


async def send_due(
    runtime: Runtime,
    mailer: MailerPool,
    settings: NotificationSettings,
    unsubscribe: UnsubscribeLinks,
) -> int:
    async with runtime.transaction() as ctx:
        due = await deliveries.claim_due(ctx.conn, ctx.now(), settings.send_batch_max)
        sendable = [r for r in due if r["transactional"] or not r["suppressed"]]
        results = await asyncio.gather(
            *(_send(mailer, _message(r, settings, unsubscribe), r) for r in sendable)
        )
        outcomes = dict(zip((r["id"] for r in sendable), results, strict=True))
        recorded: list[tuple[str, Outcome]] = []
        marks: list[deliveries.Mark] = []
        for row in due:
            result, traceparent = outcomes.get(row["id"], (None, None))
            row = {**row, "traceparent": traceparent or row["traceparent"]}
            outcome, done = await _record(ctx, row, result, settings)
            recorded.append((row["template"], outcome))
            marks.append(done)
        await deliveries.mark(ctx.conn, marks)
    # Counted once committed: a batch that rolls back is claimed and sent again.
    for template, outcome in recorded:
        EMAILS.labels(template, outcome).inc()
    return len(due)


async def _record(
    ctx: Context, row: dict[str, Any], result: SendResult | None, settings: NotificationSettings
) -> tuple[Outcome, deliveries.Mark]:
    """`result` is None when the address is suppressed for this (non-transactional) mail."""
    now = ctx.now()
    ref = {
        "delivery_id": str(row["id"]),
        "template": row["template"],
        "recipient": row["recipient"],
        "cause_event_id": str(row["event_id"]),
        "cause_event_type": row["event_type"],
    }
    subject = str(row["id"])
    if result is None:
        ctx.emit(
            NotificationSuppressed(**ref, suppressed_at=now, reason="address suppressed"),
            subject=subject,
            **_chain(row),
        )
        return "suppressed", deliveries.Mark(row["id"], "suppressed", now, error="suppressed")
    if result.ok:
        ctx.emit(
            NotificationSent(
                **ref, message_id=row["message_id"], sent_at=now, attempts=row["attempts"] + 1
            ),
            subject=subject,
            **_chain(row),
        )
        return "sent", deliveries.Mark(row["id"], "sent", now)
    attempts = row["attempts"] + 1
    if result.permanent or attempts >= settings.send_max_attempts:
        if result.permanent:
            await deliveries.suppress(ctx.conn, row["recipient"], f"bounced: {result.error}", now)
        ctx.emit(
            NotificationFailed(
                **ref,
                failed_at=now,
                error=result.error,
                smtp_code=result.code,
                permanent=result.permanent,
            ),
            subject=subject,
            **_chain(row),
        )
        return "failed", deliveries.Mark(row["id"], "failed", now, result.error, result.code)
    delay = min(settings.send_backoff_max, settings.send_backoff_initial * 2 ** (attempts - 1))
    retry_at = now + timedelta(seconds=delay)
    return "retried", deliveries.Mark(
        row["id"], "pending", now, result.error, result.code, next_attempt_at=retry_at
    )


async def _send(
    mailer: MailerPool, message: Envelope, row: dict[str, Any]
) -> tuple[SendResult, str | None]:
    """Send within a span of the email's trace; return the span's context for the delivery
    event."""
    with tracing.span(
        "smtp send",
        kind=SpanKind.CLIENT,
        traceparent=row["traceparent"],
        attributes={"entitle.template": row["template"], "entitle.delivery_id": str(row["id"])},
    ):
        return await mailer.send(message), tracing.current_traceparent()


def _message(
    row: dict[str, Any], settings: NotificationSettings, unsubscribe: UnsubscribeLinks
) -> Envelope:
    headers = {
        "Message-ID": row["message_id"],
        "Date": format_datetime(row["created_at"]),
        "X-Entitle-Template": row["template"],
        "X-Entitle-Event": str(row["event_id"]),
    }
    if row["correlation_id"]:
        headers["X-Entitle-Correlation"] = row["correlation_id"]
    if not row["transactional"]:
        headers["List-Unsubscribe"] = f"<{unsubscribe.link(row['recipient'])}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return build_message(
        sender=settings.mail_from,
        recipient=row["recipient"],
        subject=row["subject"],
        text=row["body_text"],
        html=row["body_html"],
        headers=headers,
    )


def _chain(row: dict[str, Any]) -> dict[str, Any]:
    """Delivery events continue the chain (correlation and trace) of the email's event."""
    return {"correlationid": row["correlation_id"], "traceparent": row["traceparent"]}
