"""One recipient's address never decides another's email, and an account-bound key sees and
suppresses only its own account's mail."""

from __future__ import annotations

from typing import Any

from services.notification.adapters.smtp import NOT_SENDABLE
from tests.helpers import eventually

from .conftest import Notification, Start, issued

CUSTOMER = {"authorization": "Bearer acme-key"}


async def _settled(notification: Notification, count: int) -> list[dict[str, Any]]:
    found = await notification.deliveries()
    done = [d for d in found if d["status"] not in ("pending", "sending")]
    return found if len(found) == count and len(done) == count else []


async def test_a_non_ascii_address_without_smtputf8_fails_alone_and_the_others_go_once(
    notification: Notification,
) -> None:
    others = [f"buyer{i}@acme.example" for i in range(5)]
    unsendable = "jürgen@müller.example"
    for i, to in enumerate([others[0], others[1], unsendable, *others[2:]]):
        await notification.handle(issued(to, order=f"O-{i}", license_id=f"lic-{i}"))
    deliveries = await eventually(lambda: _settled(notification, 6))
    by_recipient = {d["recipient"]: d for d in deliveries}
    assert by_recipient[unsendable]["status"] == "failed"
    assert by_recipient[unsendable]["last_error"] == NOT_SENDABLE
    assert all(by_recipient[to]["status"] == "sent" for to in others)
    assert sorted(m["To"] for m in notification.inbox.messages) == sorted(others)
    # Not a bounce: the address is not suppressed.
    suppressed = await notification.runtime.pool.fetchval(
        "select count(*) from suppressions where email = $1", unsendable
    )
    assert suppressed == 0


async def test_a_non_ascii_address_is_sent_with_smtputf8_when_the_server_offers_it(
    start_notification: Start,
) -> None:
    notification = await start_notification(smtputf8=True)
    to = "jürgen@müller.example"
    await notification.handle(issued(to))
    [delivery] = await eventually(lambda: _settled(notification, 1))
    assert delivery["status"] == "sent"
    [message] = notification.inbox.messages
    assert to in message["To"]


async def test_an_account_bound_key_sees_and_suppresses_only_its_own_accounts_mail(
    start_notification: Start,
) -> None:
    notification = await start_notification(
        api_keys=[
            {
                "key": "acme-key",
                "scopes": ["deliveries:read", "suppressions:write"],
                "account_id": "acme",
            }
        ]
    )
    await notification.handle(issued("it@acme.example", order="O-a", license_id="lic-a"))
    await notification.handle(
        issued("ceo@globex.example", order="O-g", license_id="lic-g", account="globex")
    )
    await eventually(lambda: _settled(notification, 2))
    client = notification.client
    seen = (await client.get("/deliveries", headers=CUSTOMER)).json()["items"]
    assert [(d["recipient"], d["account_id"]) for d in seen] == [("it@acme.example", "acme")]
    asked = await client.get(
        "/deliveries", params={"recipient": "ceo@globex.example"}, headers=CUSTOMER
    )
    assert asked.json()["items"] == []
    foreign = await client.post(
        "/suppressions", json={"email": "ceo@globex.example"}, headers=CUSTOMER
    )
    assert (foreign.status_code, foreign.json()["code"]) == (404, "RECIPIENT_NOT_FOUND")
    own = await client.post("/suppressions", json={"email": "IT@acme.example"}, headers=CUSTOMER)
    assert own.status_code == 204
    suppressed = await notification.runtime.pool.fetch("select email from suppressions")
    assert [r["email"] for r in suppressed] == ["it@acme.example"]


async def test_suppressions_refuse_control_characters_and_lone_surrogates(
    notification: Notification,
) -> None:
    admin = {"authorization": "Bearer admin-key", "content-type": "application/json"}
    for body in (
        '{"email": "a\\u0000b@acme.example"}',
        '{"email": "it@acme.example", "reason": "x\\ud800"}',
        '{"email": "it\\ud800@acme.example"}',
    ):
        answer = await notification.client.post("/suppressions", content=body, headers=admin)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["code"] == "VALIDATION_ERROR"
    listed = await notification.client.get(
        "/deliveries", params={"offset": str(2**63)}, headers=admin
    )
    assert (listed.status_code, listed.json()["code"]) == (422, "VALIDATION_ERROR")
