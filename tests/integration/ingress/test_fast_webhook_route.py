"""The order webhook is answered by a fast route (services/runtime/fast_routes.py) beside its
documented FastAPI route: both must answer every request alike, and a delivery the fast path
declines after storing it must not be stored twice."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from entitle_cli.webhook_client import sample_order, signed_headers

from services.ingress.bootstrap import build
from services.ingress.domain.webhook_signature import sign
from services.ingress.settings import IngressSettings
from services.runtime.errors import Refused
from services.runtime.fast_routes import FastRequest, FastRoute
from services.runtime.http import create_app
from services.runtime.service import Runtime
from tests.conftest import settings_for
from tests.infra import Infra

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ROUTE = "/webhooks/orders"
# A JSON type the fast path leaves to FastAPI, so the documented route answers.
DOCUMENTED = {"content-type": "application/merge-patch+json"}


ANSWERED_FAST: list[str] = []
"""What the fast route itself answered: `answer` or a refusal's code (it declines the rest)."""


def counted(route: FastRoute) -> FastRoute:
    async def answer(runtime: Runtime, request: FastRequest) -> object:
        try:
            answered = await route.answer(runtime, request)
        except Refused as refusal:
            ANSWERED_FAST.append(refusal.code)
            raise
        ANSWERED_FAST.append("answer")
        return answered

    return dataclasses.replace(route, answer=answer)  # type: ignore[arg-type]


@pytest.fixture
async def client(infra: Infra) -> AsyncIterator[httpx.AsyncClient]:
    definition = build(settings_for(infra, IngressSettings, webhook_secrets=SECRET))
    [route] = definition.fast_routes
    assert route.path == ROUTE
    app = create_app(dataclasses.replace(definition, fast_routes=[counted(route)]))
    ANSWERED_FAST.clear()
    runtime = app.state.runtime
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingress") as client:
            yield client
    finally:
        await runtime.stop()


async def both(
    client: httpx.AsyncClient, body: bytes, headers: dict[str, str]
) -> tuple[httpx.Response, httpx.Response]:
    fast = await client.post(ROUTE, content=body, headers=headers)
    documented = await client.post(ROUTE, content=body, headers={**headers, **DOCUMENTED})
    return fast, documented


def refusals() -> list[tuple[bytes, dict[str, str], str]]:
    body = json.dumps(sample_order()).encode()
    stale = int(time.time()) - 3600
    return [
        (
            body,
            {**signed_headers(SECRET, body), "webhook-signature": "v1,AAAA"},
            "WEBHOOK_SIGNATURE_INVALID",
        ),
        (
            body,
            {"webhook-id": "msg_1", "content-type": "application/json"},
            "WEBHOOK_HEADERS_MISSING",
        ),
        (
            body,
            {
                "webhook-id": "msg_stale",
                "webhook-timestamp": str(stale),
                "webhook-signature": sign(SECRET, "msg_stale", stale, body),
            },
            "WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE",
        ),
        (b'{"order_id": 5}', signed_headers(SECRET, b'{"order_id": 5}'), "INVALID_ORDER"),
        (b"not json", signed_headers(SECRET, b"not json"), "INVALID_ORDER"),
    ]


async def test_what_the_webhook_refuses_is_refused_alike_on_both_routes(
    client: httpx.AsyncClient,
) -> None:
    for body, headers, code in refusals():
        fast, documented = await both(client, body, headers)
        assert (fast.status_code, fast.json()) == (documented.status_code, documented.json())
        assert fast.status_code in (401, 422), fast.text
        assert fast.json()["code"] == code, fast.text
        assert fast.headers["content-type"] == "application/json"
    assert ANSWERED_FAST == []  # each declined: the documented route answered


async def test_a_delivery_is_stored_once_whichever_route_answers_it(
    client: httpx.AsyncClient,
) -> None:
    body = json.dumps(sample_order()).encode()
    headers = signed_headers(SECRET, body)
    first = await client.post(ROUTE, content=body, headers=headers)
    assert (first.status_code, first.json()["duplicate"]) == (202, False), first.text
    fast, documented = await both(client, body, headers)
    assert fast.status_code == documented.status_code == 202
    assert fast.json() == documented.json() == {**first.json(), "duplicate": True}
    assert ANSWERED_FAST == ["answer", "answer"]  # the first and `fast`, not `documented`


async def test_a_reused_webhook_id_is_refused_alike_on_both_routes(
    client: httpx.AsyncClient,
) -> None:
    # Refused after the delivery was looked up: the fast path answers the refusal itself.
    first = json.dumps(sample_order()).encode()
    headers = signed_headers(SECRET, first)
    assert (await client.post(ROUTE, content=first, headers=headers)).status_code == 202
    other = json.dumps(sample_order()).encode()
    again = signed_headers(SECRET, other, webhook_id=headers["webhook-id"])
    fast, documented = await both(client, other, again)
    assert (fast.status_code, fast.json()) == (documented.status_code, documented.json())
    assert (fast.status_code, fast.json()["code"]) == (409, "WEBHOOK_ID_REUSED")
    assert ANSWERED_FAST == ["answer", "WEBHOOK_ID_REUSED"]
