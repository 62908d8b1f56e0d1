"""Every service's operations routes (what the desk's admin pages call): its dead letters
listed, shown and replayed once, its consumer group's lag; only with the operations scopes,
which an agent's staff token never carries. Real broker and PostgreSQL."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from services.licensing.domain.keys import generate_private_key
from services.runtime.auth import STAFF_SCOPES, AccessTokenIssuer, public_key_of
from services.runtime.http import create_app
from services.runtime.service import Runtime
from services.runtime.settings import RuntimeSettings
from tests.conftest import settings_for
from tests.helpers import eventually, order_event
from tests.infra import Infra

from .kafka_tools import produce_events
from .probe_service import probe_definition

PORTAL_KEY = generate_private_key()
ISSUER = AccessTokenIssuer("p1", PORTAL_KEY, timedelta(minutes=5))


def staff(role: str) -> dict[str, str]:
    token = ISSUER.mint_staff(f"{role}@vendor.example", role, STAFF_SCOPES[role], datetime.now(UTC))
    return {"authorization": f"Bearer {token}"}


@pytest.fixture
async def probe_http(
    infra: Infra, tmp_path: Path
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps([{"key": "reader", "scopes": ["tickets:read"]}]))
    settings = settings_for(
        infra,
        RuntimeSettings,
        api_keys_file=keys,
        access_token_public_keys={"p1": public_key_of(PORTAL_KEY)},
    )
    app = create_app(probe_definition(settings))
    runtime: Runtime = app.state.runtime
    await runtime.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        try:
            yield runtime, client
        finally:
            await runtime.stop()


async def test_dead_letters_are_listed_shown_and_replayed_once_over_http(
    probe_http: tuple[Runtime, httpx.AsyncClient], infra: Infra
) -> None:
    runtime, client = probe_http
    admin = staff("admin")
    event = order_event()
    await runtime.pool.execute("insert into blocked values ($1)", event.data.order_id)
    topic = runtime.settings.kafka_topic_prefix + "commerce.orders"
    await produce_events(infra.bootstrap, topic, [event])

    async def listed() -> list[dict[str, object]]:
        answer = await client.get("/dead-letters", headers=admin)
        assert answer.status_code == 200, answer.text
        items: list[dict[str, object]] = answer.json()["items"]
        return items

    (letter,) = await eventually(listed, timeout=30)
    assert (letter["error_class"], letter["event_id"]) == ("BLOCKED", str(event.id))
    shown = (await client.get(f"/dead-letters/{letter['id']}", headers=admin)).json()
    assert shown["headers"]["ce_type"] == event.type
    assert shown["value"]["order_id"] == event.data.order_id
    missing = await client.get("/dead-letters/999999", headers=admin)
    assert (missing.status_code, missing.json()["code"]) == (404, "DEAD_LETTER_NOT_FOUND")

    lag = (await client.get("/consumer-lag", headers=admin)).json()
    assert lag["group"] == runtime.settings.consumer_group
    assert {p["topic"] for p in lag["partitions"]} == {topic}
    assert lag["total"] == sum(p["lag"] for p in lag["partitions"])

    await runtime.pool.execute("delete from blocked")  # the cause is fixed
    first = await client.post("/dead-letters/replay", json={"ids": [letter["id"]]}, headers=admin)
    assert first.json() == {"replayed": [letter["id"]]}
    second = await client.post("/dead-letters/replay", json={"ids": None}, headers=admin)
    assert second.json() == {"replayed": []}

    async def applied() -> bool:
        found = await runtime.pool.fetchval(
            "select count(*) from effects where order_id = $1", event.data.order_id
        )
        return bool(found == 1)

    await eventually(applied, timeout=30)
    assert await listed() == []
    everything = await client.get("/dead-letters?include_replayed=true", headers=admin)
    assert everything.json()["items"][0]["replayed_at"] is not None


async def test_operations_need_their_scopes(
    probe_http: tuple[Runtime, httpx.AsyncClient],
) -> None:
    _, client = probe_http
    for headers, status in (
        ({}, 401),
        ({"authorization": "Bearer reader"}, 403),
        (staff("agent"), 403),  # an agent acts on tickets only
    ):
        for method, path in (
            ("GET", "/dead-letters"),
            ("GET", "/consumer-lag"),
            ("POST", "/dead-letters/replay"),
        ):
            answer = await client.request(method, path, headers=headers)
            assert answer.status_code == status, (path, headers, answer.text)


def test_a_staff_token_carries_only_its_roles_scopes() -> None:
    now = datetime.now(UTC)
    with pytest.raises(ValueError, match="agent token"):
        ISSUER.mint_staff("a@vendor.example", "agent", {"tickets:read", "licenses:read"}, now)
    with pytest.raises(ValueError):
        ISSUER.mint_staff("a@vendor.example", "owner", {"tickets:read"}, now)
    assert "admin" not in STAFF_SCOPES["admin"]  # never the all-powerful scope


def test_a_forged_staff_token_is_refused() -> None:
    from services.runtime.auth import AccessTokenVerifier
    from services.runtime.errors import ApiError

    verifier = AccessTokenVerifier({"p1": public_key_of(PORTAL_KEY)}, lambda: datetime.now(UTC))
    good = ISSUER.mint_staff("a@vendor.example", "agent", STAFF_SCOPES["agent"], datetime.now(UTC))
    principal = verifier.verify(good)
    assert (principal.person, principal.account_id) == ("a@vendor.example", None)
    assert principal.scopes == STAFF_SCOPES["agent"]
    payload, signature = good.removeprefix("eat1.").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    # Claims changed after signing.
    widened = {**claims, "scp": [*claims["scp"], "releases:write"]}
    forged = base64.urlsafe_b64encode(json.dumps(widened).encode()).rstrip(b"=").decode()
    with pytest.raises(ApiError):
        verifier.verify(f"eat1.{forged}.{signature}")
    # Signed with the portal's own key but beyond what a staff token may be: more scopes than
    # the role carries, an unknown role, or an account as well.
    for bad in (
        widened,
        {**claims, "role": "owner"},
        {**claims, "acct": "acme"},
        {**claims, "role": "agent", "scp": sorted(STAFF_SCOPES["admin"])},
    ):
        with pytest.raises(ApiError, match="not valid"):
            verifier.verify(ISSUER._signed(bad))
    other = AccessTokenIssuer("p1", generate_private_key(), timedelta(minutes=5))
    with pytest.raises(ApiError):
        verifier.verify(
            other.mint_staff("a@vendor.example", "admin", STAFF_SCOPES["admin"], datetime.now(UTC))
        )
