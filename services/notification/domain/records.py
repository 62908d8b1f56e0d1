"""The rows notification keeps, as the adapters return them and the handlers and routes use
them. Pure data."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

DeliveryStatus = Literal["pending", "sending", "sent", "failed", "suppressed"]


@dataclass(frozen=True, slots=True)
class Digest:
    """One order's license-delivery email: what is known of it, and whether it went."""

    order_id: str
    recipient: str
    expected: int | None
    reseller_email: str | None
    account_id: str | None
    reseller_account_id: str | None
    sent: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One license of an order's delivery email."""

    order_id: str
    license_id: str
    product: str
    license_key: str
    ready: bool
    coverage_ends_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """An email to record for sending, rendered, with the event it is sent for."""

    event_id: uuid.UUID
    event_type: str
    correlation_id: str | None
    account_id: str | None
    traceparent: str | None
    template: str
    recipient: str
    transactional: bool
    subject: str
    body_text: str
    body_html: str


@dataclass(frozen=True, slots=True)
class RecordedEmail:
    """What a delivery row says of its email, whatever became of it."""

    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    correlation_id: str | None
    account_id: str | None
    template: str
    recipient: str
    transactional: bool
    subject: str
    message_id: str
    attempts: int
    """Times it was taken up for sending: a delivery taken again after its sender died
    counts twice."""
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Claimed(RecordedEmail):
    """A delivery taken for sending, under a lease (its attempts count this one)."""

    body_text: str
    body_html: str
    traceparent: str | None
    lease_token: uuid.UUID
    suppressed: bool


@dataclass(frozen=True, slots=True)
class Mark:
    """One sending outcome to record."""

    ident: uuid.UUID
    lease_token: uuid.UUID
    status: DeliveryStatus
    at: datetime
    error: str | None = None
    code: int | None = None
    next_attempt_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Suppression:
    """An address that gets no more non-transactional mail, and why."""

    email: str
    reason: str


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    """Which deliveries a listing shows; None matches any."""

    account_id: str | None = None
    recipient: str | None = None
    event_id: str | None = None
    template: str | None = None
    status: DeliveryStatus | None = None
    correlation_id: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery(RecordedEmail):
    """A delivery as the API lists it."""

    status: DeliveryStatus
    last_error: str | None
    smtp_code: int | None
    sent_at: datetime | None
