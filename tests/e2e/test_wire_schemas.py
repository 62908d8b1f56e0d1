"""The committed JSON Schemas describe what is on the wire: every record an order produces,
consumed from the broker, validates with a standard validator (jsonschema) — its value
against the schema its `ce_type` header names, its headers against the headers schema."""

from __future__ import annotations

import json

import httpx
from entitle_cli.webhook_client import post_order, sample_order
from entitle_dev.stack import Stack
from entitle_events import schemas
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from tests.helpers import wait_until
from tests.integration.kafka_tools import read_all

from .conftest import mails_for, webhook

TOPICS = (
    "commerce.orders",
    "licensing.licenses",
    "maintenance.coverage",
    "notification.deliveries",
)


def validators() -> tuple[dict[str, Draft202012Validator], Draft202012Validator]:
    committed = schemas.committed()
    headers = schemas.committed_headers()
    registry: Registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in [*committed.values(), headers]
    )
    checker = FormatChecker()
    by_type = {
        t: Draft202012Validator(s, registry=registry, format_checker=checker)
        for t, s in committed.items()
    }
    return by_type, Draft202012Validator(headers, format_checker=checker)


async def test_every_record_of_an_order_validates_against_the_committed_schemas(
    stack: Stack,
) -> None:
    order = sample_order()
    with httpx.Client(timeout=10) as client:
        response = post_order(client, webhook(stack), stack.secrets.webhook_secret, order)
    assert response.status_code == 202, response.text
    wait_until(lambda: mails_for(stack.mail_dir, order["order_id"]), timeout=60)

    by_type, headers_validator = validators()
    validated: dict[str, int] = {}
    for topic in TOPICS:
        for record in await read_all(stack.bootstrap, topic):
            headers = {k: v.decode() for k, v in record.headers}
            if headers.get("ce_correlationid") != order["order_id"]:
                continue
            headers_validator.validate(headers)
            assert record.key.decode() == headers["ce_subject"]
            event_type = headers["ce_type"]
            by_type[event_type].validate(json.loads(record.value))
            assert by_type[event_type].schema["x-entitle-record"]["topic"] == topic
            validated[event_type] = validated.get(event_type, 0) + 1
    assert {
        "entitle.commerce.order.placed.v1",
        "entitle.licensing.license.issued.v1",
        "entitle.maintenance.coverage.started.v1",
        "entitle.notification.notification.sent.v1",
    } <= set(validated), validated


def test_the_schemas_reject_what_is_not_on_the_wire() -> None:
    """The validator is not vacuous: a value missing a required field, or an envelope where
    the data alone belongs, fails."""
    by_type, headers_validator = validators()
    placed = by_type["entitle.commerce.order.placed.v1"]
    value = {k: v for k, v in sample_order().items()}
    placed.validate(value)
    assert not placed.is_valid({k: v for k, v in value.items() if k != "lines"})
    assert not placed.is_valid({"source": "ingress", "type": "x", "data": value})
    assert not headers_validator.is_valid({"ce_type": "entitle.commerce.order.placed.v1"})
