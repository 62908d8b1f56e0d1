"""Seed 004, preset backup-suite.toml: a backup product line (current major 18) with a yearly
"care" plan that runs for a year from its purchase; products bought as a subscription are
covered while the subscription is active; a new major released within 30 days of the
purchase is a free upgrade. Every license is bought on 21 November 2026 unless a test says
otherwise."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import pytest

from services.licensing.handlers.expiry import expire_due

from .conftest import ADMIN, Licensing
from .scenario import (
    activate,
    coverage_started,
    customer,
    day,
    keys_of,
    listing,
    publish,
    validate,
    view,
)


@pytest.fixture
async def shop(
    licensing_for: Callable[[str], AbstractAsyncContextManager[Licensing]],
) -> AsyncIterator[Licensing]:
    async with licensing_for("backup-suite.toml") as running:
        yield running


async def test_if_a_new_version_is_released_within_30_days_of_your_purchase_you_get_a_free_upgrade(
    shop: Licensing,
) -> None:
    _, [recent] = await shop.order(sku="BS-SRV")  # 21 November 2026
    _, [earlier] = await shop.order(sku="BS-SRV", placed_at=day(2026, 10, 1))
    # Neither license has care: the grace alone decides.
    await publish(shop, "backup-server", "19.0.0", day(2026, 12, 15))
    shop.clock.set(day(2027, 1, 1))
    assert await validate(shop, recent["license_key"], version="19.0.0") == "VALID"  # 24 days
    assert await validate(shop, earlier["license_key"], version="19.0.0") == (
        "VERSION_NOT_ENTITLED"  # 75 days after its purchase
    )
    assert await validate(shop, earlier["license_key"], version="18.0.0") == "VALID"


async def test_a_later_major_released_after_care_ended_is_not_entitled_while_the_licensed_major_stays_valid(  # noqa: E501
    shop: Licensing,
) -> None:
    _, [lic] = await shop.order(sku="BS-PC")
    # A full year of care is included: 21 November 2026 to 21 November 2027.
    await coverage_started(shop, lic, "care", day(2026, 11, 21), day(2027, 11, 21))
    await publish(shop, "backup-pc", "19.0.0", day(2027, 6, 1))
    await publish(shop, "backup-pc", "20.0.0", day(2028, 3, 1))
    await publish(shop, "backup-pc", "18.5.2", day(2028, 5, 1))
    shop.clock.set(day(2028, 6, 1))
    key = lic["license_key"]
    assert await validate(shop, key, version="19.0.0") == "VALID"  # released under care
    assert await validate(shop, key, version="20.0.0") == "VERSION_NOT_ENTITLED"
    assert await validate(shop, key, version="18.5.2") == "VALID"  # updates within 18 are free
    assert await validate(shop, key, version="18.0.0") == "VALID"
    assert await validate(shop, key) == "VALID"


async def test_a_subscription_is_entitled_to_updates_and_upgrades_as_long_as_it_remains_active(
    shop: Licensing,
) -> None:
    _, [sub] = await shop.order(sku="BS-BE-SUB")
    assert (sub["kind"], sub["expires_at"], sub["auto_renew"]) == (
        "subscription",
        day(2027, 11, 21),
        True,
    )
    await publish(shop, "backup-business", "19.0.0", day(2027, 9, 1))
    shop.clock.set(day(2027, 10, 1))
    key = sub["license_key"]
    assert await validate(shop, key, version="19.0.0") == "VALID"

    shop.clock.set(day(2027, 11, 22))  # the subscription ran out the day before
    assert await expire_due(shop.runtime) == 1
    assert await validate(shop, key, version="19.0.0") == "EXPIRED"

    renewal = {
        "line_id": "1",
        "sku": "BS-BE-SUB",
        "quantity": 1,
        "unit_price": "159.00",
        "license_key": key,
    }
    await shop.order(lines=[renewal], placed_at=day(2027, 11, 22))
    assert (await view(shop, key))["status"] == "active"
    assert await validate(shop, key, version="19.0.0") == "VALID"


async def test_care_plans_per_incident_support_and_maintenance_issue_no_license(
    shop: Licensing,
) -> None:
    lines = [
        {"line_id": "1", "sku": "BS-NET", "quantity": 1, "unit_price": "899.00"},
        {"line_id": "2", "sku": "BS-NET-CARE", "quantity": 1, "unit_price": "270.00"},
        {"line_id": "3", "sku": "BS-SRV-INCIDENT", "quantity": 2, "unit_price": "99.00"},
        {"line_id": "4", "sku": "BS-DC-MAINT", "quantity": 1, "unit_price": "500.00"},
    ]
    _, issued = await shop.order(lines=lines)
    assert [(lic["sku"], lic["product"]) for lic in issued] == [("BS-NET", "backup-network")]


async def test_a_not_for_resale_license_is_listed_apart_from_purchased_licenses(
    shop: Licensing,
) -> None:
    partner = customer("partner")
    _, [nfr] = await shop.order(buyer=partner, sku="BS-SRV-NFR")
    _, [bought] = await shop.order(buyer=partner, sku="BS-SRV")
    assert keys_of(await listing(shop, ADMIN, account="partner", kind="nfr")) == {
        nfr["license_key"]
    }
    assert keys_of(await listing(shop, ADMIN, account="partner", kind="perpetual")) == {
        bought["license_key"]
    }
    subscriptions = await listing(shop, ADMIN, account="partner", kind="subscription")
    assert subscriptions["notice"] == "You have not purchased licenses of this type"


async def test_the_data_center_product_runs_on_linux_and_the_other_products_on_windows(
    shop: Licensing,
) -> None:
    _, [datacenter] = await shop.order(sku="BS-DC")
    _, [server] = await shop.order(sku="BS-SRV")
    assert datacenter["major_version"] == 8
    assert (await activate(shop, datacenter["license_key"], 1, "linux")).status_code == 201
    refused = await activate(shop, server["license_key"], 2, "linux")
    assert (refused.status_code, refused.json()["code"]) == (403, "PLATFORM_NOT_LICENSED")
    assert (await activate(shop, server["license_key"], 2, "windows")).status_code == 201
