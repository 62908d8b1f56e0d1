"""Events of email deliveries (topic `notification.deliveries`, keyed by delivery id)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, Field

from .common import Email
from .envelope import EventData
from .topics import NOTIFICATION_DELIVERIES


class DeliveryRef(EventData):
    delivery_id: str
    template: str
    recipient: Email
    cause_event_id: str = Field(description="The event the email was sent for.")
    cause_event_type: str


class NotificationSent(DeliveryRef):
    event_type: ClassVar[str] = "entitle.notification.notification.sent.v1"
    topic: ClassVar[str] = NOTIFICATION_DELIVERIES

    message_id: str
    sent_at: AwareDatetime
    attempts: int


class NotificationFailed(DeliveryRef):
    event_type: ClassVar[str] = "entitle.notification.notification.failed.v1"
    topic: ClassVar[str] = NOTIFICATION_DELIVERIES

    failed_at: AwareDatetime
    error: str
    smtp_code: int | None = None
    permanent: bool


class NotificationSuppressed(DeliveryRef):
    event_type: ClassVar[str] = "entitle.notification.notification.suppressed.v1"
    topic: ClassVar[str] = NOTIFICATION_DELIVERIES

    suppressed_at: AwareDatetime
    reason: str
