"""The published event catalog: codec, envelope rules, naming and topics."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import entitle_events
import pytest
from entitle_events import (
    DATA_BY_TYPE,
    EVENT_DATA,
    Event,
    EventData,
    InvalidEvent,
    UnknownEventType,
    decode,
    encode,
    new_event,
)
from entitle_events.commerce import OrderPlaced
from entitle_events.examples import example
from entitle_events.topics import TOPICS
from hypothesis import given, settings
from hypothesis import strategies as st

WHEN = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
build = example


def event_of(data: EventData, **kw: Any) -> Event[Any]:
    kw.setdefault("source", "tests")
    kw.setdefault("subject", "subject-1")
    kw.setdefault("time", WHEN)
    return new_event(data, **kw)


ALL_TYPES = pytest.mark.parametrize("data_cls", EVENT_DATA, ids=lambda c: c.event_type)


# --------------------------------------------------------------------------- builder sanity


def test_builder_covers_every_type_and_fills_optionals() -> None:
    issued = build(entitle_events.licensing.LicenseIssued)
    assert issued.reseller_account_id is None
    assert issued.max_activations == 1  # required though Optional: gets a value
    full = build(OrderPlaced, fill_optional=True)
    assert full.end_customer is not None
    assert full.lines[0].license_key == "x"
    for data_cls in EVENT_DATA:
        assert isinstance(build(data_cls), data_cls)
        assert isinstance(build(data_cls, fill_optional=True), data_cls)


# --------------------------------------------------------------------------- codec


@ALL_TYPES
@pytest.mark.parametrize("fill_optional", [False, True], ids=["minimal", "full"])
def test_every_type_round_trips(data_cls: type[EventData], fill_optional: bool) -> None:
    data = build(data_cls, fill_optional=fill_optional)
    event = event_of(data, correlationid="corr-1", traceparent="00-abc-def-01")

    key, value, headers = encode(event)

    assert key == b"subject-1"
    names = dict(headers)
    assert names["ce_type"] == data_cls.event_type.encode()
    assert names["ce_specversion"] == b"1.0"
    assert names["ce_id"] == str(event.id).encode()
    assert names["content-type"] == b"application/json"
    assert names["traceparent"] == b"00-abc-def-01"
    assert isinstance(json.loads(value), dict)  # the value is the data alone, as JSON
    assert "ce_data" not in names

    decoded = decode(headers, value)

    assert type(decoded) is type(event)
    assert type(decoded.data) is data_cls
    assert decoded == event
    assert decoded.data == data


def test_decoded_event_of_other_timezone_is_same_instant() -> None:
    event = event_of(
        build(OrderPlaced), time=datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    )
    decoded = decode(encode(event)[2], encode(event)[1])
    assert decoded.time == datetime(2026, 1, 1, 10, tzinfo=UTC)


def test_unknown_type_raises_unknown_event_type() -> None:
    _, value, headers = encode(event_of(build(OrderPlaced)))
    headers = [
        (k, b"entitle.commerce.order.exploded.v1" if k == "ce_type" else v) for k, v in headers
    ]
    with pytest.raises(UnknownEventType, match="exploded"):
        decode(headers, value)


def test_missing_type_raises_invalid_event() -> None:
    _, value, headers = encode(event_of(build(OrderPlaced)))
    without = [(k, v) for k, v in headers if k != "ce_type"]
    with pytest.raises(InvalidEvent, match="ce_type"):
        decode(without, value)
    with pytest.raises(InvalidEvent):
        decode(None, value)


@pytest.mark.parametrize("value", [b"not json", b"", None, b'{"order_id": '])
def test_non_json_value_raises_invalid_event(value: bytes | None) -> None:
    _, _, headers = encode(event_of(build(OrderPlaced)))
    with pytest.raises(InvalidEvent):
        decode(headers, value)


def test_invalid_data_raises_invalid_event_naming_the_field() -> None:
    _, value, headers = encode(event_of(build(OrderPlaced)))
    data = json.loads(value)
    del data["order_id"]
    with pytest.raises(InvalidEvent, match="order_id"):
        decode(headers, json.dumps(data).encode())

    data = json.loads(value)
    data["lines"][0]["quantity"] = 0
    with pytest.raises(InvalidEvent, match=r"lines\.0\.quantity"):
        decode(headers, json.dumps(data).encode())


def test_invalid_attribute_raises_invalid_event() -> None:
    _, value, headers = encode(event_of(build(OrderPlaced)))
    naive = [(k, b"2026-11-21T10:00:00" if k == "ce_time" else v) for k, v in headers]
    with pytest.raises(InvalidEvent, match="time"):
        decode(naive, value)
    without_subject = [(k, v) for k, v in headers if k != "ce_subject"]
    with pytest.raises(InvalidEvent, match="subject"):
        decode(without_subject, value)


def test_unknown_data_fields_are_ignored() -> None:
    """Adding a field must stay compatible: old consumers ignore it."""
    event = event_of(build(entitle_events.licensing.LicenseExpired))
    _, value, headers = encode(event)
    data = json.loads(value)
    data["added_in_v1_1"] = {"anything": [1, 2]}
    assert decode(headers, json.dumps(data).encode()) == event


@settings(max_examples=60, deadline=None)
@given(subject=st.text(), correlationid=st.none() | st.text())
def test_arbitrary_unicode_attributes_survive_round_trip(
    subject: str, correlationid: str | None
) -> None:
    event = event_of(build(OrderPlaced), subject=subject, correlationid=correlationid)
    key, value, headers = encode(event)
    decoded = decode(headers, value)
    assert key == subject.encode()
    assert decoded.subject == subject
    assert decoded.correlationid == correlationid
    assert decoded == event


# --------------------------------------------------------------------------- new_event


def test_new_event_with_cause_passes_on_correlation_and_trace() -> None:
    cause = event_of(
        build(OrderPlaced), subject="O-1", correlationid="O-1", traceparent="00-trace-span-01"
    )
    effect = new_event(
        build(entitle_events.licensing.LicenseIssued),
        source="licensing",
        subject="L-1",
        time=WHEN,
        cause=cause,
    )
    assert effect.correlationid == "O-1"
    assert effect.traceparent == "00-trace-span-01"
    assert effect.causationid == str(cause.id)
    assert effect.type == entitle_events.licensing.LicenseIssued.event_type
    assert effect.id != cause.id


def test_new_event_with_cause_without_correlation_uses_cause_subject() -> None:
    cause = event_of(build(OrderPlaced), subject="O-2")
    effect = event_of(build(entitle_events.licensing.LicenseExpired), cause=cause)
    assert effect.correlationid == "O-2"
    assert effect.causationid == str(cause.id)


def test_new_event_without_cause_has_no_causation() -> None:
    event = event_of(build(OrderPlaced), correlationid="c", traceparent="t")
    assert event.causationid is None
    assert event.correlationid == "c"
    assert event.traceparent == "t"
    assert isinstance(event.id, uuid.UUID)


# --------------------------------------------------------------------------- catalog rules

TYPE_RULE = re.compile(
    r"^entitle\.(?P<service>[a-z]+)\.(?P<entity>[a-z]+(?:-[a-z]+)*)"
    r"\.(?P<verb>[a-z]+(?:-[a-z]+)*)\.v(?P<version>[1-9][0-9]*)$"
)


@ALL_TYPES
def test_type_is_on_a_catalogued_topic(data_cls: type[EventData]) -> None:
    assert data_cls.topic in TOPICS, f"{data_cls.event_type}: topic {data_cls.topic} unknown"
    assert data_cls.event_type in entitle_events.types_on_topic(data_cls.topic)


@ALL_TYPES
def test_type_follows_naming_rule(data_cls: type[EventData]) -> None:
    match = TYPE_RULE.match(data_cls.event_type)
    assert match, f"{data_cls.event_type} is not entitle.<service>.<entity>.<verb>.v<N>"
    # the service part names the domain owning the topic
    assert data_cls.topic.split(".")[0] == match["service"]


def test_event_types_are_unique() -> None:
    assert len(DATA_BY_TYPE) == len(EVENT_DATA)
    assert len(set(EVENT_DATA)) == len(EVENT_DATA)


def test_every_topic_carries_some_event() -> None:
    for name in TOPICS:
        assert entitle_events.types_on_topic(name), f"topic {name} has no event type"


MINIMUM_CATALOG = [
    "order.placed",
    "order.refunded",
    *(
        f"license.{verb}"
        for verb in (
            "issued",
            "activated",
            "deactivated",
            "assigned",
            "transferred",
            "suspended",
            "reinstated",
            "revoked",
            "renewed",
            "expired",
        )
    ),
    "order-line.rejected",
    "release.published",
    *(f"coverage.{verb}" for verb in ("started", "extended", "expiring", "lapsed", "ended")),
    "renewal.rejected",
    "upgrade.available",
    *(
        f"ticket.{verb}"
        for verb in (
            "opened",
            "rejected",
            "responded",
            "customer-replied",
            "pending",
            "solved",
            "closed",
            "reopened",
            "sla-warning",
            "sla-breached",
        )
    ),
    "survey.answered",
    "notification.sent",
    "notification.failed",
    "notification.suppressed",
]


@pytest.mark.parametrize("name", MINIMUM_CATALOG)
def test_design_minimum_catalog_is_present(name: str) -> None:
    present = {
        f"{m['entity']}.{m['verb']}" for t in DATA_BY_TYPE if (m := TYPE_RULE.match(t)) is not None
    }
    assert name in present
