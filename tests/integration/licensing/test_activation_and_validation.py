"""Activations and validation against the real PostgreSQL (seeds 001-003)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from entitle_events import new_event
from entitle_events.common import CoveragePeriod
from entitle_events.maintenance import CoverageStarted

from services.licensing.domain.keys import KeyRing, generate_private_key
from services.licensing.handlers.coverage import on_coverage_events

from .conftest import ADMIN, NOW, Licensing


async def validate(lic: Licensing, **body: str) -> dict[str, object]:
    response = await lic.client.post("/licenses/validate", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def machine(n: int, platform: str = "windows") -> dict[str, str]:
    return {"fingerprint": f"fp-{n}", "platform": platform, "hostname": f"host-{n}"}


async def test_twenty_parallel_activations_for_five_seats_exactly_five_win(
    licensing: Licensing,
) -> None:
    _, [site] = await licensing.order(sku="BP-SITE")  # one license, five seats
    key = site["license_key"]
    responses = await asyncio.gather(
        *(licensing.client.post(f"/licenses/{key}/activations", json=machine(n)) for n in range(20))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 5 + [409] * 15
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"TOO_MANY_ACTIVATIONS"}
    winners = [r for r in responses if r.status_code == 201]
    assert len(winners[-1].json()["activations"]) <= 5
    view = (await licensing.client.get(f"/licenses/{key}", headers=ADMIN)).json()
    assert len(view["activations"]) == 5


async def test_reactivation_is_idempotent_and_deactivation_frees_the_seat(
    licensing: Licensing,
) -> None:
    _, [lic] = await licensing.order(sku="BP-SRV")  # one seat
    key = lic["license_key"]
    first = await licensing.client.post(f"/licenses/{key}/activations", json=machine(1))
    again = await licensing.client.post(f"/licenses/{key}/activations", json=machine(1))
    other = await licensing.client.post(f"/licenses/{key}/activations", json=machine(2))
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert (await validate(licensing, key=key, fingerprint="fp-1"))["code"] == "VALID"
    assert (await validate(licensing, key=key, fingerprint="fp-2"))[
        "code"
    ] == "TOO_MANY_ACTIVATIONS"

    freed = await licensing.client.delete(f"/licenses/{key}/activations/fp-1")
    assert freed.status_code == 204
    assert (await validate(licensing, key=key, fingerprint="fp-2"))["code"] == "NO_ACTIVATION"
    moved = await licensing.client.post(f"/licenses/{key}/activations", json=machine(2))
    assert moved.status_code == 201
    gone = await licensing.client.delete(f"/licenses/{key}/activations/fp-1")
    assert (gone.status_code, gone.json()["code"]) == (404, "ACTIVATION_NOT_FOUND")


async def test_macos_and_linux_need_a_desktop_or_server_edition(licensing: Licensing) -> None:
    _, [site] = await licensing.order(sku="BP-SITE")  # the site edition runs on Windows only
    _, [server] = await licensing.order(sku="BP-SRV")
    refused = await licensing.client.post(
        f"/licenses/{site['license_key']}/activations", json=machine(1, "linux")
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "PLATFORM_NOT_LICENSED")
    accepted = await licensing.client.post(
        f"/licenses/{server['license_key']}/activations", json=machine(1, "macos")
    )
    assert accepted.status_code == 201


async def test_forged_altered_and_foreign_keys_are_not_found(licensing: Licensing) -> None:
    _, [lic] = await licensing.order()
    key = lic["license_key"]
    payload, signature = key.split(".")
    altered = payload[:-3] + ("AAA" if payload[-3:] != "AAA" else "BBB") + "." + signature
    foreign = KeyRing(generate_private_key(), "k1").issue(
        str(lic["license_id"]), "backup-pro", "server", NOW
    )
    for bad in (altered, foreign, "not-a-key", key + "x"):
        result = await validate(licensing, key=bad)
        assert (result["valid"], result["code"]) == (False, "NOT_FOUND"), bad
    assert (await validate(licensing, key=key))["code"] == "VALID"
    assert (await validate(licensing, key=key, product="other-app"))["code"] == "WRONG_PRODUCT"
    cross_grade = await validate(licensing, key=key, product="backup-pro", edition="desktop")
    assert cross_grade["code"] == "EDITION_NOT_LICENSED"
    unknown = await licensing.client.post(f"/licenses/{foreign}/activations", json=machine(1))
    assert unknown.status_code == 404


async def test_status_changes_show_in_validation_in_the_documented_order(
    licensing: Licensing,
) -> None:
    _, [lic] = await licensing.order()
    key = lic["license_key"]
    suspended = await licensing.client.post(
        f"/licenses/{key}/suspend", headers=ADMIN, json={"reason": "chargeback"}
    )
    assert suspended.json()["status"] == "suspended"
    assert (await validate(licensing, key=key, fingerprint="fp-9"))["code"] == "SUSPENDED"
    assert (
        await licensing.client.post(f"/licenses/{key}/activations", json=machine(1))
    ).status_code == 409
    await licensing.client.post(f"/licenses/{key}/reinstate", headers=ADMIN)
    assert (await validate(licensing, key=key))["code"] == "VALID"
    await licensing.client.post(f"/licenses/{key}/revoke", headers=ADMIN)
    assert (await validate(licensing, key=key))["code"] == "REVOKED"
    illegal = await licensing.client.post(f"/licenses/{key}/reinstate", headers=ADMIN)
    assert (illegal.status_code, illegal.json()["code"]) == (409, "ILLEGAL_TRANSITION")
    perpetual = await licensing.client.post(f"/licenses/{key}/deactivate", headers=ADMIN)
    assert perpetual.status_code == 409
    unauthorised = await licensing.client.post(f"/licenses/{key}/suspend")
    assert unauthorised.status_code == 401


async def test_versions_follow_maintenance_coverage_and_stay_valid_after_it_lapses(
    licensing: Licensing,
) -> None:
    _, [lic] = await licensing.order()  # v5, three complimentary months from NOW
    key = lic["license_key"]
    ends = NOW + timedelta(days=90)
    started = CoverageStarted(
        license_id=str(lic["license_id"]),
        license_key=key,
        product="backup-pro",
        account_id="acme",
        contact_email="it@acme.example",
        plan="backup-care-12",
        periods=[CoveragePeriod(starts_at=NOW, ends_at=ends, source="complimentary")],
        ends_at=ends,
    )
    async with licensing.runtime.transaction() as ctx:
        await on_coverage_events(
            ctx, [new_event(started, source="maintenance", subject=started.license_id, time=NOW)]
        )
    for version, released in (
        ("5.2.0", NOW + timedelta(days=400)),
        ("6.0.0", NOW + timedelta(days=30)),
        ("7.0.0", NOW + timedelta(days=200)),
    ):
        published = await licensing.client.post(
            "/releases",
            headers=ADMIN,
            json={"product": "backup-pro", "version": version, "released_at": released.isoformat()},
        )
        assert published.status_code == 201, published.text
    licensing.clock.set(NOW + timedelta(days=500))  # maintenance long lapsed
    assert (await validate(licensing, key=key, version="5.2.0"))["code"] == "VALID"
    assert (await validate(licensing, key=key, version="4.1"))["code"] == "VALID"
    assert (await validate(licensing, key=key, version="6.0.0"))["code"] == "VALID"
    assert (await validate(licensing, key=key, version="7.0.0"))["code"] == "VERSION_NOT_ENTITLED"
    assert (await validate(licensing, key=key, version="8.0.0"))["code"] == "VERSION_NOT_ENTITLED"
    assert (await validate(licensing, key=key, version="six"))["code"] == "VERSION_INVALID"
    duplicate = await licensing.client.post(
        "/releases",
        headers=ADMIN,
        json={"product": "backup-pro", "version": "6.0", "released_at": NOW.isoformat()},
    )
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "RELEASE_EXISTS")


async def test_an_add_on_follows_its_base_licenses_entitlement(licensing: Licensing) -> None:
    _, [base] = await licensing.order()
    ends = NOW + timedelta(days=90)
    started = CoverageStarted(
        license_id=str(base["license_id"]),
        license_key=base["license_key"],
        product="backup-pro",
        account_id="acme",
        contact_email="it@acme.example",
        plan="backup-care-12",
        periods=[CoveragePeriod(starts_at=NOW, ends_at=ends, source="complimentary")],
        ends_at=ends,
    )
    async with licensing.runtime.transaction() as ctx:
        await on_coverage_events(
            ctx, [new_event(started, source="maintenance", subject=started.license_id, time=NOW)]
        )
    add_on_line = {
        "line_id": "1",
        "sku": "BP-EXCH",
        "quantity": 1,
        "unit_price": "49.00",
        "license_key": base["license_key"],
    }
    _, [add_on] = await licensing.order(lines=[add_on_line], placed_at=NOW + timedelta(days=200))
    assert str(add_on["base_license_id"]) == str(base["license_id"])
    for version, released in (
        ("6.0.0", NOW + timedelta(days=60)),
        ("7.0.0", NOW + timedelta(days=150)),
    ):
        await licensing.client.post(
            "/releases",
            headers=ADMIN,
            json={"product": "backup-pro", "version": version, "released_at": released.isoformat()},
        )
    key = add_on["license_key"]
    # Bought after the base's coverage ended, yet entitled to 6.0 as its base is.
    assert (await validate(licensing, key=key, version="6.0.0"))["code"] == "VALID"
    assert (await validate(licensing, key=key, version="7.0.0"))["code"] == "VERSION_NOT_ENTITLED"

    _, none = await licensing.order(lines=[{**add_on_line, "license_key": None}])
    assert none == []  # an add-on without its base license is rejected


def _http_requests(route: str) -> float:
    from prometheus_client import REGISTRY

    return sum(
        s.value
        for m in REGISTRY.collect()
        if m.name == "entitle_http_requests"
        for s in m.samples
        if s.name.endswith("_total") and s.labels["route"] == route
    )


async def test_the_fast_validation_route_answers_as_the_documented_route(
    licensing: Licensing,
) -> None:
    _, [lic] = await licensing.order()
    key = lic["license_key"]
    bodies = [
        {"key": key},
        {"key": key, "version": "5.1.0", "fingerprint": "fp-9"},
        {"key": key, "product": "other-app"},
        {"key": "not-a-key"},
        {"key": key, "version": "not-a-version"},
    ]
    route = "/licenses/validate"
    for body in bodies:
        counted = _http_requests(route)
        fast = await licensing.client.post(route, json=body)
        # A JSON type the fast path leaves to FastAPI: the documented route answers.
        full = await licensing.client.post(
            route, json=body, headers={"content-type": "application/merge-patch+json"}
        )
        assert (fast.status_code, fast.json()) == (full.status_code, full.json()), body
        assert fast.headers["content-type"] == "application/json"
        assert _http_requests(route) == counted + 2  # each counted once
    # A body the fast path cannot parse gets the API's usual error.
    for bad in ('{"key": ""}', "not json", '{"key": 5}'):
        answer = await licensing.client.post(
            route, content=bad, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 422
        assert answer.json()["code"] == "VALIDATION_ERROR"


async def test_validations_at_once_each_get_the_answer_they_get_alone(
    licensing: Licensing,
) -> None:
    # Concurrent validations share one query (services/runtime/grouped.py): each must still
    # be answered about its own key, machine and version.
    _, [server] = await licensing.order(sku="BP-SRV")  # one seat
    _, [site] = await licensing.order(sku="BP-SITE")
    one_seat, other = server["license_key"], site["license_key"]
    activated = await licensing.client.post(f"/licenses/{one_seat}/activations", json=machine(1))
    assert activated.status_code == 201
    questions = [
        {"key": one_seat, "fingerprint": "fp-1"},
        {"key": one_seat, "fingerprint": "fp-2"},
        {"key": other},
        {"key": other, "version": "99.0.0"},
        {"key": one_seat, "version": "5.1.0", "fingerprint": "fp-1"},
        {"key": "not-a-key"},
    ] * 4
    alone = [await validate(licensing, **question) for question in questions]
    together = await asyncio.gather(*(validate(licensing, **question) for question in questions))
    assert list(together) == alone
    assert len({str(answer["code"]) for answer in alone}) >= 4
