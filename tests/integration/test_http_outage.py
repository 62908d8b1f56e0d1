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
