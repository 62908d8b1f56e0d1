"""The portal's sign-in link: opened by notification with the shared key and emailed; a
link sealed with another key, or for another address, is a permanent error (dead letter),
never an email."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from entitle_events import Event, new_event
from entitle_events.portal import SignInRequested

from services.notification.handlers.events import on_sign_in_requested
from services.policy.catalog import load_catalog
from services.runtime.errors import PermanentError
from services.runtime.sealed import new_seal_key, seal
from tests.helpers import eventually

from .conftest import NOW, Notification, Start

KEY = new_seal_key()
LINK = "http://portal.example/sign-in/link?token=s3cr3t-token"


def requested(to: str, sealed: str) -> Event[Any]:
    data = SignInRequested(
        email=to, requested_at=NOW, expires_at=NOW + timedelta(minutes=15), sealed_link=sealed
    )
    return new_event(data, source="portal", subject="digest", time=NOW)


async def _handle(notification: Notification, event: Event[Any], key: str | None) -> None:
    async with notification.runtime.transaction(cause=event) as ctx:
        await on_sign_in_requested(ctx, event, load_catalog(), key, "test.example")
    notification.runtime.wake()


@pytest.fixture
async def notification(start_notification: Start) -> Notification:
    return await start_notification(sign_in_seal_key=KEY)


async def test_the_sealed_link_is_opened_and_emailed(notification: Notification) -> None:
    to = "signin@acme.example"
    await _handle(notification, requested(to, seal(KEY, LINK, to)), KEY)

    async def arrived() -> list[Any]:
        return notification.inbox.to(to)

    [message] = await eventually(arrived)
    assert message["X-Entitle-Template"] == "sign_in"
    assert LINK in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "sealed_with, sealed_for",
    [(new_seal_key(), "signin@acme.example"), (KEY, "other@acme.example")],
    ids=["another key", "another address"],
)
async def test_a_link_that_does_not_open_is_a_permanent_error(
    notification: Notification, sealed_with: str, sealed_for: str
) -> None:
    event = requested("signin@acme.example", seal(sealed_with, LINK, sealed_for))
    with pytest.raises(PermanentError) as refused:
        await _handle(notification, event, KEY)
    assert refused.value.code == "SEALED_LINK_INVALID"
    with pytest.raises(PermanentError) as unset:
        await _handle(notification, event, None)
    assert unset.value.code == "SEAL_KEY_MISSING"
