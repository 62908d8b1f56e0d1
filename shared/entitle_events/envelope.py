"""CloudEvents 1.0 envelope with Entitle's extension attributes."""

from __future__ import annotations

import uuid
from typing import ClassVar, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class EventData(BaseModel):
    """Base of every event payload.

    ``event_type`` is the CloudEvents ``type``; ``topic`` the topic the event is published on.
    Unknown fields are ignored so that adding a field stays a compatible change.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    topic: ClassVar[str]


D = TypeVar("D", bound=EventData)


class Event(BaseModel, Generic[D]):
    """One event as it travels on Kafka: attributes plus typed ``data``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    source: str = Field(description="The service that emitted the event, e.g. `licensing`.")
    type: str
    specversion: Literal["1.0"] = "1.0"
    time: AwareDatetime
    subject: str = Field(description="Id of the aggregate the event is about; also the Kafka key.")
    datacontenttype: Literal["application/json"] = "application/json"
    correlationid: str | None = Field(
        default=None, description="The order or ticket that started the chain."
    )
    causationid: str | None = Field(default=None, description="Id of the event that caused this.")
    traceparent: str | None = Field(default=None, description="W3C trace context.")
    data: D
