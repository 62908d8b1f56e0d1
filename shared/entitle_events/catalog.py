"""Every event type, and the discriminated union that decodes any of them by `type`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar, Union, cast

from pydantic import Field, TypeAdapter, create_model

from . import commerce, licensing, maintenance, notification, portal, ticketing
from .envelope import Event, EventData

EVENT_DATA: tuple[type[EventData], ...] = (
    commerce.OrderPlaced,
    commerce.OrderRefunded,
    licensing.LicenseIssued,
    licensing.LicenseActivated,
    licensing.LicenseDeactivated,
    licensing.LicenseAssigned,
    licensing.LicenseTransferred,
    licensing.LicenseSuspended,
    licensing.LicenseReinstated,
    licensing.LicenseRevoked,
    licensing.LicenseRenewed,
    licensing.LicenseExpired,
    licensing.OrderLineRejected,
    licensing.ReleasePublished,
    maintenance.CoverageStarted,
    maintenance.CoverageExtended,
    maintenance.CoverageExpiring,
    maintenance.CoverageLapsed,
    maintenance.CoverageEnded,
    maintenance.CoverageWithdrawn,
    maintenance.RenewalRejected,
    maintenance.UpgradeAvailable,
    maintenance.MaintenanceCodesIssued,
    ticketing.TicketOpened,
    ticketing.TicketRejected,
    ticketing.TicketResponded,
    ticketing.TicketCustomerReplied,
    ticketing.TicketPending,
    ticketing.TicketSolved,
    ticketing.TicketClosed,
    ticketing.TicketReopened,
    ticketing.TicketSlaBreached,
    ticketing.TicketSlaWarning,
    ticketing.TicketAssigned,
    ticketing.TicketNoteAdded,
    ticketing.TicketTierChanged,
    ticketing.SurveyAnswered,
    notification.NotificationSent,
    notification.NotificationFailed,
    notification.NotificationSuppressed,
    portal.SignInRequested,
)

DATA_BY_TYPE: dict[str, type[EventData]] = {d.event_type: d for d in EVENT_DATA}


def _envelope_model(data: type[EventData]) -> type[Event[Any]]:
    """`Event[Data]` whose `type` is the literal event type: the union's discriminator."""
    model = create_model(
        data.__name__ + "Event",
        __base__=Event[data],  # type: ignore[valid-type]
        __module__=__name__,
        type=(Literal[data.event_type], data.event_type),  # type: ignore[arg-type]
    )
    return cast(type[Event[Any]], model)


ENVELOPE_BY_TYPE: dict[str, type[Event[Any]]] = {
    t: _envelope_model(d) for t, d in DATA_BY_TYPE.items()
}

# Built from the catalog at import time, so a static checker sees it as Any.
AnyEvent: Any = Annotated[Union[tuple(ENVELOPE_BY_TYPE.values())], Field(discriminator="type")]  # noqa: UP007
ANY_EVENT: TypeAdapter[Event[Any]] = TypeAdapter(AnyEvent)


def types_on_topic(topic: str) -> list[str]:
    return [t for t, d in DATA_BY_TYPE.items() if d.topic == topic]


D = TypeVar("D", bound=EventData)


def new_event(
    data: D,
    *,
    source: str,
    subject: str,
    time: datetime,
    cause: Event[Any] | None = None,
    correlationid: str | None = None,
    traceparent: str | None = None,
) -> Event[D]:
    """Build an event of the registered envelope type; a cause passes on its correlation id
    and, unless a `traceparent` is given (the span that handled it), its trace context."""
    if cause is not None:
        correlationid = correlationid or cause.correlationid or cause.subject
    model = ENVELOPE_BY_TYPE[data.event_type]
    return model(
        type=data.event_type,
        source=source,
        time=time,
        subject=subject,
        correlationid=correlationid,
        causationid=str(cause.id) if cause is not None else None,
        traceparent=traceparent or (cause.traceparent if cause is not None else None),
        data=data,
    )
