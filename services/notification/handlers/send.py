"""The sender job: takes due deliveries, sends them, records each outcome.

Exactly one email per (event, template, recipient): the delivery row is unique on that
triple. A sender first takes a batch under a lease in one statement (committed before any
SMTP session starts), then records each message's outcome, with its `notification.*` event,
once the server has answered (with the other sessions' answers of that moment, in one
transaction), and before that SMTP session carries another message. So a crash
at any instant (the process killed, PostgreSQL down, a connection dropped) leaves at most
one message per SMTP session accepted and unrecorded: at most `ENTITLE_SMTP_CONNECTIONS`
messages. Those are sent again, with their original Message-ID (which receiving systems
use to drop duplicates), once the lease runs out, and the record counts the second attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any

from entitle_events.notification import (
    NotificationFailed,
    NotificationSent,
    NotificationSuppressed,
)
from opentelemetry.trace import SpanKind

from services.runtime import tracing
from services.runtime.context import Context, Transactions

from ..adapters import deliveries
from ..adapters.mime import Envelope, build_message
from ..adapters.smtp import MailerPool, SendResult
from ..domain.records import Claimed, Mark, Suppression
from ..domain.unsubscribe import UnsubscribeLinks
from ..metrics import EMAILS, Outcome
from ..settings import NotificationSettings

LINGER_SECONDS = 0.01
"""How long outcomes wait for others to share their transaction: a session idles that long
at the most, and each transaction (with its outbox row and the relay's run) serves several."""


@dataclass(frozen=True)
class _Sent:
    """What happened to one claimed delivery; `result` None means suppressed, not sent."""

    delivery: Claimed
    result: SendResult | None
    traceparent: str | None


@dataclass(frozen=True)
class Sender:
    """Sends due deliveries over the mailer's sessions and records each outcome."""

    transactions: Transactions
    mailer: MailerPool
    settings: NotificationSettings
    unsubscribe: UnsubscribeLinks

    async def send_due(self) -> int:
        settings = self.settings
        async with self.transactions.transaction() as ctx:
            claimed = await deliveries.claim_due(
                ctx.conn, ctx.now(), settings.send_batch_max, settings.send_lease_seconds
            )
        if not claimed:
            return 0
        loop = asyncio.get_running_loop()
        # A message not started by half the lease is left for whoever takes the row next: the
        # lease must not run out while a message is still on its way.
        send_by = loop.time() + settings.send_lease_seconds / 2
        recorder = _Recorder(self.transactions, settings)

        async def deliver(delivery: Claimed) -> None:
            if delivery.suppressed and not delivery.transactional:
                await recorder.record(_Sent(delivery, None, None))
                return
            async with self.mailer.session() as session:
                if loop.time() > send_by:
                    return
                with tracing.span(
                    "smtp send",
                    kind=SpanKind.CLIENT,
                    traceparent=delivery.traceparent,
                    attributes={
                        "entitle.template": delivery.template,
                        "entitle.delivery_id": str(delivery.id),
                    },
                ):
                    with recorder.answer_awaited():
                        message = _message(delivery, settings, self.unsubscribe)
                        result = await session.send(message)
                    traceparent = tracing.current_traceparent()
                await recorder.record(_Sent(delivery, result, traceparent))

        # One failure (the database gone) stops the batch: what is taken and not recorded is
        # sent when its lease runs out.
        async with asyncio.TaskGroup() as group:
            for delivery in claimed:
                group.create_task(deliver(delivery))
        return len(claimed)


class _Recorder:
    """Group commit: outcomes that arrive while one transaction writes go together into the
    next one, in one statement per kind of write, and a transaction waits a moment
    (`LINGER_SECONDS` at most) for the answers the other sessions are about to get. Each
    `record` returns once its outcome is committed."""

    def __init__(self, transactions: Transactions, settings: NotificationSettings) -> None:
        self._transactions = transactions
        self._settings = settings
        self._waiting: list[tuple[_Sent, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._awaited = 0
        self._arrived = asyncio.Event()

    @contextlib.contextmanager
    def answer_awaited(self) -> Iterator[None]:
        """While a session waits for the server's answer to a message."""
        self._awaited += 1
        try:
            yield
        finally:
            self._awaited -= 1

    async def record(self, sent: _Sent) -> None:
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((sent, done))
        self._arrived.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())
        await done

    async def _gather(self) -> None:
        """Wait, a moment at most, until no session waits for an answer still to come."""
        loop = asyncio.get_running_loop()
        until = loop.time() + LINGER_SECONDS
        while self._awaited and (left := until - loop.time()) > 0:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    async def _write_all(self) -> None:
        while self._waiting:
            await self._gather()
            batch, self._waiting = self._waiting, []
            try:
                recorded = await self._write([sent for sent, _ in batch])
            except BaseException as exc:
                for _, done in [*batch, *self._waiting]:
                    if not done.done():
                        done.set_exception(exc if isinstance(exc, Exception) else RuntimeError())
                self._waiting = []
                if not isinstance(exc, Exception):
                    raise
                return
            for _, done in batch:
                done.set_result(None)
            # Counted once committed: what is not committed is sent and counted again.
            for template, outcome in recorded:
                EMAILS.labels(template, outcome).inc()

    async def _write(self, batch: Sequence[_Sent]) -> list[tuple[str, Outcome]]:
        async with self._transactions.transaction() as ctx:
            now = ctx.now()
            planned = [_mark(sent, now, self._settings) for sent in batch]
            held = await deliveries.mark(ctx.conn, [mark for _, mark in planned])
            recorded, bounced = [], []
            for sent, (outcome, mark) in zip(batch, planned, strict=True):
                if mark.ident not in held:
                    continue  # the lease ran out and another sender took the row
                if sent.result is not None and sent.result.bounced:
                    reason = f"bounced: {sent.result.error}"
                    bounced.append(Suppression(sent.delivery.recipient, reason))
                _announce(ctx, sent, outcome)
                recorded.append((sent.delivery.template, outcome))
            await deliveries.suppress(ctx.conn, bounced, now)
        return recorded


def _mark(sent: _Sent, now: datetime, settings: NotificationSettings) -> tuple[Outcome, Mark]:
    delivery, result = sent.delivery, sent.result
    token = delivery.lease_token
    if result is None:
        return "suppressed", Mark(delivery.id, token, "suppressed", now, error="suppressed")
    if result.ok:
        return "sent", Mark(delivery.id, token, "sent", now)
    if result.permanent or delivery.attempts >= settings.send_max_attempts:
        return "failed", Mark(delivery.id, token, "failed", now, result.error, result.code)
    delay = min(
        settings.send_backoff_max, settings.send_backoff_initial * 2 ** (delivery.attempts - 1)
    )
    retry_at = now + timedelta(seconds=delay)
    return "retried", Mark(
        delivery.id, token, "pending", now, result.error, result.code, next_attempt_at=retry_at
    )


def _announce(ctx: Context, sent: _Sent, outcome: Outcome) -> None:
    """The delivery event of an outcome; it continues the chain (correlation and trace) of
    the email's event."""
    delivery, result, now = sent.delivery, sent.result, ctx.now()
    ref = {
        "delivery_id": str(delivery.id),
        "template": delivery.template,
        "recipient": delivery.recipient,
        "cause_event_id": str(delivery.event_id),
        "cause_event_type": delivery.event_type,
    }
    chain: dict[str, Any] = {
        "subject": str(delivery.id),
        "correlationid": delivery.correlation_id,
        "traceparent": sent.traceparent or delivery.traceparent,
    }
    if outcome == "suppressed":
        ctx.emit(
            NotificationSuppressed(**ref, suppressed_at=now, reason="address suppressed"), **chain
        )
    elif outcome == "sent":
        sent_event = NotificationSent(
            **ref, message_id=delivery.message_id, sent_at=now, attempts=delivery.attempts
        )
        ctx.emit(sent_event, **chain)
    elif outcome == "failed" and result is not None:
        failed = NotificationFailed(
            **ref,
            failed_at=now,
            error=result.error,
            smtp_code=result.code,
            permanent=result.permanent,
        )
        ctx.emit(failed, **chain)


def _message(
    delivery: Claimed, settings: NotificationSettings, unsubscribe: UnsubscribeLinks
) -> Envelope:
    headers = {
        "Message-ID": delivery.message_id,
        "Date": format_datetime(delivery.created_at),
        "X-Entitle-Template": delivery.template,
        "X-Entitle-Event": str(delivery.event_id),
    }
    if delivery.correlation_id:
        headers["X-Entitle-Correlation"] = delivery.correlation_id
    if not delivery.transactional:
        headers["List-Unsubscribe"] = f"<{unsubscribe.link(delivery.recipient)}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return build_message(
        sender=settings.mail_from,
        recipient=delivery.recipient,
        subject=delivery.subject,
        text=delivery.body_text,
        html=delivery.body_html,
        headers=headers,
    )
