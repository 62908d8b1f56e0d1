"""Each service's AsyncAPI document lists every topic and event type it consumes or
publishes, and the committed documents under docs/asyncapi/ are the generated ones."""

from __future__ import annotations

import json

import pytest
from entitle_cli.docs import ASYNCAPI_DIR, asyncapi_documents, definitions
from entitle_events import DATA_BY_TYPE, types_on_topic

DOCUMENTS = asyncapi_documents()


@pytest.mark.parametrize("definition", definitions(), ids=lambda d: d.name)
def test_the_document_lists_every_topic_and_event_type(definition) -> None:  # type: ignore[no-untyped-def]
    doc = DOCUMENTS[definition.name]
    assert doc["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in doc["channels"].values()}
    consumed = {DATA_BY_TYPE[t].topic for t in definition.subscriptions.handlers}
    assert consumed | set(definition.publishes) == addresses
    schemas = set(doc["components"]["schemas"])
    for event_type in definition.subscriptions.handlers:
        assert DATA_BY_TYPE[event_type].__name__ in schemas
    for topic in definition.publishes:
        for event_type in types_on_topic(topic):
            assert DATA_BY_TYPE[event_type].__name__ in schemas


def test_the_committed_documents_are_the_generated_ones() -> None:
    for name, doc in DOCUMENTS.items():
        committed = json.loads((ASYNCAPI_DIR / f"{name}.json").read_text())
        assert committed == doc, f"docs/asyncapi/{name}.json is stale: run `make schemas`"


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_message_headers_are_the_ones_the_code_writes(name: str) -> None:
    from datetime import UTC, datetime

    from entitle_events import encode, new_event
    from entitle_events.examples import example
    from jsonschema import Draft7Validator

    for message in DOCUMENTS[name]["components"]["messages"].values():
        headers_schema = message["headers"]
        location = message["correlationId"]["location"]
        assert location.startswith("$message.header#/")
        for event_type in headers_schema["properties"]["ce_type"]["enum"]:
            data = DATA_BY_TYPE[event_type].model_validate(example(DATA_BY_TYPE[event_type]))
            event = new_event(
                data,
                source="test",
                subject="s-1",
                time=datetime.now(UTC),
                correlationid="A-1",
                traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01",
            )
            key, _, written = encode(event)
            headers = {k: v.decode() for k, v in written}
            Draft7Validator(headers_schema).validate(headers)
            assert set(headers) <= set(headers_schema["properties"]), "undocumented header"
            assert headers[location.removeprefix("$message.header#/")] == "A-1"
            assert key.decode() == headers["ce_subject"]
