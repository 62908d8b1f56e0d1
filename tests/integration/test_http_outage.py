"""While the database is down, HTTP callers are told to retry (503 with `Retry-After`), never
shown a server fault; once it is back, the same request succeeds."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from entitle_cli.webhook_client import sample_order, signed_headers
from entitle_dev.postgres import EmbeddedPostgres
from entitle_dev.stack import free_port

from services.ingress.bootstrap import build
from services.ingress.settings import IngressSettings
from services.runtime import outbox
from services.runtime.http import create_app
from tests.conftest import settings_for
from tests.infra import Infra

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


async def test_webhooks_get_503_with_retry_after_while_the_database_is_down(
    infra: Infra, servers_dir: Path
) -> None:
    postgres = EmbeddedPostgres(servers_dir / "pg", free_port(), durable=False)
    postgres.start()
    settings = settings_for(
        Infra(postgres.url, infra.bootstrap, infra.idempotence),
        IngressSettings,
        webhook_secrets=SECRET,
    )
    app = create_app(build(settings))
    runtime = app.state.runtime
    await runtime.start()
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://ingress") as client:
            body = json.dumps(sample_order()).encode()
            headers = signed_headers(SECRET, body)
            postgres.stop()
            down = await client.post("/webhooks/orders", content=body, headers=headers)
            assert down.status_code == 503, down.text
            assert down.json()["code"] == "TEMPORARILY_UNAVAILABLE"
            assert int(down.headers["retry-after"]) > 0
            postgres.start()
            again = await client.post("/webhooks/orders", content=body, headers=headers)
            assert again.status_code == 202, again.text
            assert again.json()["duplicate"] is False
    finally:
        await runtime.stop()
        postgres.stop()


async def test_an_order_stored_but_not_yet_on_the_broker_asks_for_the_same_retry(
    infra: Infra,
) -> None:
    """A 202 promises the order is on the broker: while it is not (here another copy holds
    the relay and does not publish), the answer is 503 PUBLISH_PENDING, and the same
    request again, once it is published, is the same order."""
    settings = settings_for(
        infra, IngressSettings, webhook_secrets=SECRET, publish_timeout_seconds=0.2
    )
    app = create_app(build(settings))
    runtime = app.state.runtime
    await runtime.start()
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://ingress") as client,
            runtime.pool.acquire() as other_copy,
        ):
            body = json.dumps(sample_order()).encode()
            headers = signed_headers(SECRET, body)
            await other_copy.execute("select pg_advisory_lock($1)", outbox._RELAY_LOCK)
            pending = await client.post("/webhooks/orders", content=body, headers=headers)
            assert pending.status_code == 503, pending.text
            assert pending.json()["code"] == "PUBLISH_PENDING"
            await other_copy.execute("select pg_advisory_unlock($1)", outbox._RELAY_LOCK)
            again = await client.post("/webhooks/orders", content=body, headers=headers)
            assert again.status_code == 202, again.text
            assert again.json()["duplicate"] is True
    finally:
        await runtime.stop()
