"""CloudEvents binary mode on Kafka: attributes in `ce_*` headers, data as the JSON value.

Pure functions over (key, value, headers) so any Kafka client can use them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError

from .catalog import ANY_EVENT, DATA_BY_TYPE
from .envelope import Event

Headers = list[tuple[str, bytes]]
_ATTRIBUTES = (
    "id",
    "source",
    "type",
    "specversion",
    "time",
    "subject",
    "correlationid",
    "causationid",
    "traceparent",
)


class EventDecodeError(Exception):
    """The record is not a valid Entitle event. Retrying cannot help."""


class UnknownEventType(EventDecodeError):
    pass


class InvalidEvent(EventDecodeError):
    pass


def encode(event: Event[Any]) -> tuple[bytes, bytes, Headers]:
    """Return (key, value, headers) for the event; the key is its subject."""
    attrs = event.model_dump(mode="json", exclude={"data", "datacontenttype"})
    # `is not None`, not truthiness: an empty subject or correlation id is a value too.
    headers: Headers = [
        (f"ce_{name}", str(attrs[name]).encode())
        for name in _ATTRIBUTES
        if attrs.get(name) is not None
    ]
    headers.append(("content-type", b"application/json"))
    if event.traceparent:
        headers.append(("traceparent", event.traceparent.encode()))
    value = event.data.model_dump_json().encode()
    return event.subject.encode(), value, headers


def decode(headers: Iterable[tuple[str, bytes]] | None, value: bytes | None) -> Event[Any]:
    """Decode a binary-mode record into a typed event, or raise EventDecodeError."""
    attrs: dict[str, Any] = {}
    for name, raw in headers or ():
        if name.startswith("ce_") and raw is not None:
            attrs[name[3:]] = raw.decode("utf-8", errors="replace")
    event_type = attrs.get("type")
    if not event_type:
        raise InvalidEvent("record has no ce_type header")
    if event_type not in DATA_BY_TYPE:
        raise UnknownEventType(f"unknown event type {event_type!r}")
    try:
        attrs["data"] = json.loads(value or b"")
    except ValueError as exc:
        raise InvalidEvent(f"value is not JSON: {exc}") from exc
    try:
        return ANY_EVENT.validate_python(attrs)
    except ValidationError as exc:
        raise InvalidEvent(_describe(exc)) from exc


def header(headers: Sequence[tuple[str, bytes]] | None, name: str) -> str | None:
    for key, raw in headers or ():
        if key == name and raw is not None:
            return raw.decode("utf-8", errors="replace")
    return None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"][1:] if p != "data") or "event"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)
