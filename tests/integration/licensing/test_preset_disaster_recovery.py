"""Seed 003, preset disaster-recovery.toml: disaster-recovery imaging software (current major
10), one edition per infrastructure, sold as outright (perpetual) licences with 1 to 5 years
of maintenance, or as MSP licences. Every licence is bought on 21 November 2026."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import pytest

from services.licensing.handlers.expiry import expire_due

from .conftest import ADMIN, Licensing
from .scenario import (
    activate,
    coverage_extended,
    coverage_started,
    day,
    publish,
    validate,
    view,
)

PRODUCT = "image-backup"


@pytest.fixture
async def shop(
    licensing_for: Callable[[str], AbstractAsyncContextManager[Licensing]],
) -> AsyncIterator[Licensing]:
    async with licensing_for("disaster-recovery.toml") as running:
        yield running


async def test_an_outright_licence_does_not_expire(shop: Licensing) -> None:
    _, [outright] = await shop.order(sku="IB-WS-1Y")
    assert (outright["kind"], outright["expires_at"]) == ("perpetual", None)
    shop.clock.set(day(2036, 11, 21))  # ten years later
    assert await expire_due(shop.runtime) == 0
    assert await validate(shop, outright["license_key"]) == "VALID"
    assert (await view(shop, outright["license_key"]))["status"] == "active"


async def test_should_you_not_renew_your_maintenance_your_licence_continues_to_run_without_upgrades(
    shop: Licensing,
) -> None:
    _, [outright] = await shop.order(sku="IB-WS-1Y")
    # One year of maintenance: 21 November 2026 to 21 November 2027, not renewed.
    await coverage_started(shop, outright, "maintenance-1y", day(2026, 11, 21), day(2027, 11, 21))
    await publish(shop, PRODUCT, "10.3.0", day(2027, 2, 1))
    await publish(shop, PRODUCT, "11.0.0", day(2027, 5, 1))
    await publish(shop, PRODUCT, "12.0.0", day(2028, 2, 1))
    shop.clock.set(day(2029, 1, 1))  # maintenance lapsed more than a year ago
    key = outright["license_key"]
    assert await validate(shop, key) == "VALID"
    assert await validate(shop, key, version="10.3.0") == "VALID"
    assert await validate(shop, key, version="11.0.0") == "VALID"  # released while covered
    assert await validate(shop, key, version="12.0.0") == "VERSION_NOT_ENTITLED"


async def test_maintenance_extended_after_it_expired_runs_on_from_the_previous_end(
    shop: Licensing,
) -> None:
    _, [outright] = await shop.order(sku="IB-HV-1Y")
    await coverage_started(shop, outright, "maintenance-1y", day(2026, 11, 21), day(2027, 11, 21))
    await publish(shop, PRODUCT, "12.0.0", day(2028, 2, 1))
    key = outright["license_key"]
    assert await validate(shop, key, version="12.0.0") == "VERSION_NOT_ENTITLED"
    # A 1-year extension bought on 1 April 2028 runs from 21 November 2027.
    shop.clock.set(day(2028, 4, 1))
    await coverage_extended(shop, outright, "maintenance-1y", day(2027, 11, 21), day(2028, 11, 21))
    assert await validate(shop, key, version="12.0.0") == "VALID"


async def test_an_msp_licence_includes_maintenance_for_as_long_as_it_is_active(
    shop: Licensing,
) -> None:
    _, [msp] = await shop.order(sku="IB-HV-MSP-Y")
    assert msp["kind"] == "msp" and msp["expires_at"] == day(2027, 11, 21)
    await publish(shop, PRODUCT, "11.0.0", day(2027, 6, 1))
    shop.clock.set(day(2027, 7, 1))
    assert await validate(shop, msp["license_key"], version="11.0.0") == "VALID"


async def test_following_deactivation_of_an_msp_licence_it_will_no_longer_be_able_to_be_used(
    shop: Licensing,
) -> None:
    _, [msp] = await shop.order(sku="IB-WS-MSP-M")
    key = msp["license_key"]
    assert (await activate(shop, key, 1)).status_code == 201
    assert await validate(shop, key, fingerprint="fp-1") == "VALID"

    deactivated = await shop.client.post(f"/licenses/{key}/deactivate", headers=ADMIN)
    assert deactivated.json()["status"] == "deactivated"
    assert await validate(shop, key) == "DEACTIVATED"
    assert await validate(shop, key, fingerprint="fp-1", version="10.0.0") == "DEACTIVATED"
    refused = await activate(shop, key, 2)
    assert (refused.status_code, refused.json()["code"]) == (409, "LICENSE_DEACTIVATED")
    back = await shop.client.post(f"/licenses/{key}/reinstate", headers=ADMIN)
    assert (back.status_code, back.json()["code"]) == (409, "ILLEGAL_TRANSITION")
    renewal = {
        "line_id": "1",
        "sku": "IB-WS-MSP-M",
        "quantity": 1,
        "unit_price": "15.00",
        "license_key": key,
    }
    await shop.order(lines=[renewal], placed_at=day(2026, 12, 1))
    assert await validate(shop, key) == "DEACTIVATED"  # a renewal does not bring it back


async def test_an_outright_licence_is_not_deactivated(shop: Licensing) -> None:
    _, [outright] = await shop.order(sku="IB-WS-3Y")
    refused = await shop.client.post(
        f"/licenses/{outright['license_key']}/deactivate", headers=ADMIN
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "NOT_DEACTIVATABLE")
    assert await validate(shop, outright["license_key"]) == "VALID"


async def test_changing_from_hyper_v_to_vmware_needs_a_new_licence(shop: Licensing) -> None:
    _, [hyper_v] = await shop.order(sku="IB-HV-5Y")
    await coverage_started(shop, hyper_v, "maintenance-5y", day(2026, 11, 21), day(2031, 11, 21))
    old = hyper_v["license_key"]
    assert await validate(shop, old, product=PRODUCT, edition="hyper-v") == "VALID"
    # Maintenance never covers the cross-grade, however long it runs.
    assert await validate(shop, old, product=PRODUCT, edition="vmware") == "EDITION_NOT_LICENSED"

    _, [vmware] = await shop.order(sku="IB-VM-1Y")
    new = vmware["license_key"]
    assert await validate(shop, new, product=PRODUCT, edition="vmware") == "VALID"
    assert await validate(shop, new, product=PRODUCT, edition="hyper-v") == ("EDITION_NOT_LICENSED")


async def test_the_vmware_edition_runs_on_linux_and_the_hyper_v_edition_does_not(
    shop: Licensing,
) -> None:
    _, [vmware] = await shop.order(sku="IB-VM-MSP-M")
    _, [hyper_v] = await shop.order(sku="IB-HV-MSP-M")
    assert (await activate(shop, vmware["license_key"], 1, "linux")).status_code == 201
    refused = await activate(shop, hyper_v["license_key"], 2, "linux")
    assert (refused.status_code, refused.json()["code"]) == (403, "PLATFORM_NOT_LICENSED")
