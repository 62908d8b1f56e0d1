"""AsyncAPI 3.0 document of a service: the topics it consumes and publishes, with every
event payload's schema, generated with FastStream's specification support."""

from __future__ import annotations

import json
from typing import Any, Union

from entitle_events import DATA_BY_TYPE, types_on_topic
from entitle_events.schemas import headers_schema
from entitle_events.topics import TOPICS
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from .service import ServiceDefinition


def _union(event_types: list[str]) -> Any:
    models = tuple(DATA_BY_TYPE[t] for t in event_types)
    return models[0] if len(models) == 1 else Union[models]  # noqa: UP007


def document(definition: ServiceDefinition) -> dict[str, Any]:
    # The broker only describes; it is never connected.
    broker = KafkaBroker(definition.settings.kafka_bootstrap)
    consumed: dict[str, list[str]] = {}
    for event_type in definition.subscriptions.handlers:
        consumed.setdefault(DATA_BY_TYPE[event_type].topic, []).append(event_type)
    for topic, event_types in sorted(consumed.items()):

        async def handle(message: Any) -> None:  # documentation only
            return None

        handle.__annotations__["message"] = _union(sorted(event_types))
        broker.subscriber(
            topic,
            group_id=definition.settings.consumer_group,
            title=f"{topic}:{definition.name}",
            description=f"Consumes {', '.join(sorted(event_types))}",
        )(handle)
    for topic in sorted(definition.publishes):
        event_types = sorted(types_on_topic(topic))
        broker.publisher(
            topic,
            schema=_union(event_types),
            title=f"{topic}:publish",
            description=f"Publishes {', '.join(event_types)}",
        )
    spec = AsyncAPI(
        broker,
        title=f"Entitle {definition.name}",
        version="0.1.0",
        description=definition.description,
    ).to_specification()
    result: dict[str, Any] = json.loads(spec.to_json())
    carried = {f"{topic}:{definition.name}": types for topic, types in consumed.items()}
    carried |= {f"{topic}:publish": types_on_topic(topic) for topic in definition.publishes}
    for name, message in result["components"]["messages"].items():
        prefix = name.rsplit(":", 1)[0]
        _describe_record(message, prefix.split(":")[0], sorted(carried[prefix]))
    return result


def _describe_record(message: dict[str, Any], topic: str, event_types: list[str]) -> None:
    """What the record carries besides the payload, as the code writes it: the CloudEvents
    attributes in headers (`ce_type` selects the payload), the subject as the key."""
    headers = {k: v for k, v in headers_schema().items() if not k.startswith("$")}
    headers["properties"] = {
        **headers["properties"],
        "ce_type": {"type": "string", "enum": event_types, "description": "Selects the payload."},
    }
    message["headers"] = headers
    message["correlationId"] = {
        "description": "The order or ticket that started the chain.",
        "location": "$message.header#/ce_correlationid",
    }
    message["bindings"] = {
        "kafka": {
            "bindingVersion": "0.4.0",
            "key": {"type": "string", "description": f"{TOPICS[topic].key} (= ce_subject)"},
        }
    }
