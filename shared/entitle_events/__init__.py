"""Entitle's published event catalog.

Install this package alone to subscribe to Entitle's topics::

    from entitle_events import decode, topics
    event = decode(record.headers, record.value)
    if isinstance(event.data, LicenseIssued): ...
"""

from .catalog import ANY_EVENT, DATA_BY_TYPE, EVENT_DATA, AnyEvent, new_event, types_on_topic
from .commerce import Order, OrderLine, OrderPlaced, OrderRefunded
from .envelope import Event, EventData
from .kafka import EventDecodeError, InvalidEvent, UnknownEventType, decode, encode

__all__ = [
    "ANY_EVENT",
    "DATA_BY_TYPE",
    "EVENT_DATA",
    "AnyEvent",
    "Event",
    "EventData",
    "EventDecodeError",
    "InvalidEvent",
    "Order",
    "OrderLine",
    "OrderPlaced",
    "OrderRefunded",
    "UnknownEventType",
    "decode",
    "encode",
    "new_event",
    "types_on_topic",
]
