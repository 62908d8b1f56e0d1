"""Listing, reseller flows, license files, refunds, renewals and expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from entitle_events import decode, new_event
from entitle_events.commerce import OrderRefunded
from entitle_events.license_file import LicenseFileError, verify_license_file
from entitle_events.licensing import OrderLineRejected

from services.licensing.handlers.expiry import expire_due
from services.licensing.handlers.orders import on_order_refunded
from tests.helpers import eventually
from tests.integration.kafka_tools import read_all

from .conftest import ADMIN, NOW, Licensing

ACME = {"authorization": "Bearer acme-key"}
RESELLER = {"authorization": "Bearer reseller-key"}
OTHER_RESELLER = {"authorization": "Bearer other-reseller"}
RESELLER_BUYER = {
    "account_id": "resell",
    "company": "Resell Ltd",
    "email": "ops@resell.example",
    "reseller": True,
}
BETA = {"account_id": "beta", "company": "Beta AG", "email": "it@beta.example"}


async def listing(lic: Licensing, headers: dict[str, str], **params: object) -> dict[str, object]:
    response = await lic.client.get("/licenses", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def keys_of(body: dict[str, object]) -> set[str]:
    items = body["items"]
    assert isinstance(items, list)
    return {i["key"] for i in items}


async def test_console_filters_and_the_empty_type_notice(licensing: Licensing) -> None:
    account = {
        "account_id": "filters",
        "company": "Filters GmbH",
        "email": "it@filters.example",
        "reseller": False,
    }
    _, [used] = await licensing.order(buyer=account)
    _, [unused] = await licensing.order(buyer=account, sku="BP-DESK")
    await licensing.client.post(
        f"/licenses/{used['license_key']}/activations",
        json={"fingerprint": "m1", "platform": "windows", "hostname": "m1"},
    )
    assert keys_of(await listing(licensing, ADMIN, account="filters")) == {
        used["license_key"],
        unused["license_key"],
    }
    assert keys_of(await listing(licensing, ADMIN, account="filters", usage="used")) == {
        used["license_key"]
    }
    assert keys_of(await listing(licensing, ADMIN, account="filters", usage="unused")) == {
        unused["license_key"]
    }
    assert keys_of(
        await listing(licensing, ADMIN, account="filters", kind="commercial", state="valid")
    ) == {used["license_key"], unused["license_key"]}
    assert keys_of(await listing(licensing, ADMIN, account="filters", state="expired")) == set()
    assert keys_of(await listing(licensing, ADMIN, account="filters", auto_renew=True)) == set()
    trial = await listing(licensing, ADMIN, account="filters", kind="trial")
    assert (
        trial["items"] == [] and trial["notice"] == "You have not purchased licenses of this type"
    )
    expired_only = await listing(
        licensing, ADMIN, account="filters", product="backup-pro", state="expired"
    )
    assert expired_only["notice"] is None  # licenses of the type exist, just none expired
    page = await listing(licensing, ADMIN, account="filters", limit=1)
    assert len(page["items"]) == 1 and page["next_offset"] == 1  # type: ignore[arg-type]


async def test_a_customer_key_sees_only_its_own_account(licensing: Licensing) -> None:
    _, [own] = await licensing.order()  # buyer acme
    _, [foreign] = await licensing.order(buyer={**BETA, "reseller": False})
    seen = keys_of(await listing(licensing, ACME))
    assert own["license_key"] in seen and foreign["license_key"] not in seen
    assert keys_of(await listing(licensing, ACME, account="beta")) == set()
    hidden = await licensing.client.get(f"/licenses/{foreign['license_key']}", headers=ACME)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "LICENSE_NOT_FOUND")
    forbidden = await licensing.client.post(f"/licenses/{own['license_key']}/suspend", headers=ACME)
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "FORBIDDEN")


async def test_reseller_pool_assignment_and_transfers(licensing: Licensing) -> None:
    _, pooled = await licensing.order(buyer=RESELLER_BUYER, quantity=2)
    assert all(p["pooled"] and p["account_id"] == "resell" for p in pooled)
    key = pooled[0]["license_key"]
    stranger = await licensing.client.post(
        f"/licenses/{key}/assign", json=BETA, headers=OTHER_RESELLER
    )
    assert stranger.status_code == 404
    assigned = await licensing.client.post(f"/licenses/{key}/assign", json=BETA, headers=RESELLER)
    assert assigned.status_code == 200
    assert (assigned.json()["account_id"], assigned.json()["pooled"]) == ("beta", False)
    twice = await licensing.client.post(f"/licenses/{key}/assign", json=BETA, headers=RESELLER)
    assert (twice.status_code, twice.json()["code"]) == (409, "NOT_IN_POOL")
    assert key in keys_of(await listing(licensing, RESELLER))  # a reseller still sees what it sold

    order, matched = await licensing.order(
        buyer=RESELLER_BUYER, end_customer={**BETA, "reseller": False}, quantity=2
    )
    assert all(m["account_id"] == "beta" and not m["pooled"] for m in matched)
    gamma = {"account_id": "gamma", "company": "Gamma SA", "email": "it@gamma.example"}
    moved = await licensing.client.post(
        f"/orders/{order.data.order_id}/transfer", json=gamma, headers=RESELLER
    )
    assert moved.status_code == 200
    assert {i["account_id"] for i in moved.json()["items"]} == {"gamma"}
    one = await licensing.client.post(
        f"/licenses/{pooled[1]['license_key']}/transfer", json=gamma, headers=RESELLER
    )
    assert one.json()["account_id"] == "gamma"
    _, [direct] = await licensing.order()
    refused = await licensing.client.post(
        f"/licenses/{direct['license_key']}/transfer", json=gamma, headers=ADMIN
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "NOT_TRANSFERABLE")


async def test_a_signed_license_file_verifies_offline_and_tampering_is_detected(
    licensing: Licensing,
) -> None:
    _, [lic] = await licensing.order()
    key = lic["license_key"]
    response = await licensing.client.get(f"/licenses/{key}/file", headers=ADMIN)
    assert response.status_code == 200
    document = response.json()
    published = (await licensing.client.get("/.well-known/entitle-signing-key")).json()
    public = {k["kid"]: k["public_key"] for k in published["keys"]}
    payload = verify_license_file(document, public, NOW)
    assert (payload["key"], payload["product"], payload["max_activations"]) == (
        key,
        "backup-pro",
        1,
    )
    tampered = {**document, "payload": {**document["payload"], "max_activations": 1000}}
    with pytest.raises(LicenseFileError, match="altered"):
        verify_license_file(tampered, public, NOW)
    with pytest.raises(LicenseFileError, match="expired"):
        verify_license_file(document, public, NOW + timedelta(days=31))
    with pytest.raises(LicenseFileError, match="unknown key"):
        verify_license_file(document, {"other": next(iter(public.values()))}, NOW)
    for odd_kid in (["k1"], {"k": 1}, 7, None):
        with pytest.raises(LicenseFileError, match="not an Entitle license file"):
            verify_license_file({**document, "kid": odd_kid}, public, NOW)


async def test_a_revoked_license_gets_no_license_file(licensing: Licensing) -> None:
    _, [lic] = await licensing.order()
    key = lic["license_key"]
    revoked = await licensing.client.post(f"/licenses/{key}/revoke", headers=ADMIN)
    assert revoked.status_code == 200
    refused = await licensing.client.get(f"/licenses/{key}/file", headers=ADMIN)
    assert (refused.status_code, refused.json()["code"]) == (409, "LICENSE_REVOKED")


async def test_another_resellers_order_is_as_unknown_as_a_missing_one(
    licensing: Licensing,
) -> None:
    order, _ = await licensing.order(buyer=RESELLER_BUYER)
    gamma = {"account_id": "gamma", "company": "Gamma SA", "email": "it@gamma.example"}
    answers = [
        await licensing.client.post(f"/orders/{order_id}/transfer", json=gamma, headers=headers)
        for order_id, headers in (
            (order.data.order_id, OTHER_RESELLER),
            ("NO-SUCH-ORDER", OTHER_RESELLER),
        )
    ]
    assert [(a.status_code, a.json()["code"]) for a in answers] == [(404, "ORDER_NOT_FOUND")] * 2


async def test_a_refund_revokes_the_orders_licenses(licensing: Licensing) -> None:
    order, issued = await licensing.order(quantity=2)
    refund = OrderRefunded(order_id=order.data.order_id, refunded_at=NOW, reason="refunded")
    async with licensing.runtime.transaction() as ctx:
        await on_order_refunded(
            ctx, new_event(refund, source="ingress", subject=refund.order_id, time=NOW)
        )
    for row in issued:
        result = await licensing.client.post("/licenses/validate", json={"key": row["license_key"]})
        assert result.json()["code"] == "REVOKED"


async def test_payment_mode_is_fixed_by_the_first_purchase(licensing: Licensing) -> None:
    buyer = {
        "account_id": "modes",
        "company": "Modes",
        "email": "it@modes.example",
        "reseller": False,
    }
    _, first = await licensing.order(buyer=buyer, payment_mode="monthly")
    order, second = await licensing.order(buyer=buyer, payment_mode="annual")
    assert len(first) == 1 and second == []
    topic = licensing.runtime.settings.kafka_topic_prefix + "licensing.licenses"

    async def rejection() -> dict[str, object] | None:
        for record in await read_all(licensing.runtime.settings.kafka_bootstrap, topic):
            event = decode(record.headers, record.value)
            if (
                isinstance(event.data, OrderLineRejected)
                and event.data.order_id == order.data.order_id
            ):
                return event.data.model_dump()
        return None

    rejected = await eventually(rejection)
    assert rejected["code"] == "PAYMENT_MODE_LOCKED"
    assert "monthly" in str(rejected["reason"])


async def test_subscriptions_renew_from_an_order_and_expire_once(licensing: Licensing) -> None:
    _, [sub] = await licensing.order(sku="BP-MSP-M")  # one-month MSP subscription
    assert sub["expires_at"] == NOW + relativedelta(months=1)
    renewal = {
        "line_id": "1",
        "sku": "BP-MSP-M",
        "quantity": 2,
        "unit_price": "9.00",
        "license_key": sub["license_key"],
    }
    await licensing.order(lines=[renewal], placed_at=NOW + timedelta(days=10))
    renewed = await licensing.runtime.pool.fetchval(
        "select expires_at from licenses where license_id = $1", sub["license_id"]
    )
    assert renewed == sub["expires_at"] + relativedelta(months=2)  # from the previous end
    licensing.clock.set(renewed - timedelta(minutes=1))
    assert await expire_due(licensing.runtime) == 0
    licensing.clock.set(renewed + timedelta(minutes=1))
    assert await expire_due(licensing.runtime) == 1
    assert await expire_due(licensing.runtime) == 0  # expired once
    result = await licensing.client.post("/licenses/validate", json={"key": sub["license_key"]})
    assert result.json()["code"] == "EXPIRED"
    deactivated = await licensing.client.post(
        f"/licenses/{sub['license_key']}/deactivate", headers=ADMIN
    )
    assert deactivated.status_code == 409  # expired: nothing left to deactivate


async def test_a_deactivated_msp_license_can_no_longer_be_used(licensing: Licensing) -> None:
    _, [msp] = await licensing.order(sku="BP-MSP-M")
    key = msp["license_key"]
    done = await licensing.client.post(f"/licenses/{key}/deactivate", headers=ADMIN)
    assert done.json()["status"] == "deactivated"
    assert (await licensing.client.post("/licenses/validate", json={"key": key})).json()[
        "code"
    ] == "DEACTIVATED"
    refused = await licensing.client.post(
        f"/licenses/{key}/activations",
        json={"fingerprint": "m", "platform": "windows", "hostname": "m"},
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "LICENSE_DEACTIVATED")
