"""Seed 002, preset scheduler-maintenance.toml: a job scheduler (current major 9) sold with
or without a "1-Year Maintenance & Support Pack"; resellers transfer what they bought to end
users. Every license is bought on 21 November 2026 unless a test says otherwise."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import pytest

from .conftest import ADMIN, Licensing
from .scenario import (
    BETA,
    GAMMA,
    OTHER_RESELLER,
    RESELLER,
    RESELLER_BUYER,
    activate,
    coverage_extended,
    coverage_started,
    day,
    keys_of,
    listing,
    publish,
    validate,
)

PRODUCT = "task-scheduler"


@pytest.fixture
async def shop(
    licensing_for: Callable[[str], AbstractAsyncContextManager[Licensing]],
) -> AsyncIterator[Licensing]:
    async with licensing_for("scheduler-maintenance.toml") as running:
        yield running


async def test_a_reseller_transfers_all_licenses_of_an_order_to_one_end_user_company(
    shop: Licensing,
) -> None:
    order, bought = await shop.order(buyer=RESELLER_BUYER, sku="TS-SRV", quantity=3)
    assert len(bought) == 3 and all(lic["account_id"] == "resell" for lic in bought)
    foreign = await shop.client.post(
        f"/orders/{order.data.order_id}/transfer", json=BETA, headers=OTHER_RESELLER
    )
    assert foreign.status_code == 404
    moved = await shop.client.post(
        f"/orders/{order.data.order_id}/transfer", json=BETA, headers=RESELLER
    )
    assert moved.status_code == 200, moved.text
    assert [(i["account_id"], i["company"]) for i in moved.json()["items"]] == [
        ("beta", "Beta AG")
    ] * 3
    assert keys_of(await listing(shop, ADMIN, account="beta")) == {
        lic["license_key"] for lic in bought
    }
    # The reseller still sees the licenses it sold.
    assert keys_of(await listing(shop, RESELLER)) == {lic["license_key"] for lic in bought}


async def test_a_reseller_distributes_single_licenses_over_different_end_users(
    shop: Licensing,
) -> None:
    _, [first, second] = await shop.order(buyer=RESELLER_BUYER, sku="TS-SRV", quantity=2)
    to_beta = await shop.client.post(
        f"/licenses/{first['license_key']}/transfer", json=BETA, headers=RESELLER
    )
    to_gamma = await shop.client.post(
        f"/licenses/{second['license_key']}/transfer", json=GAMMA, headers=RESELLER
    )
    assert (to_beta.json()["account_id"], to_gamma.json()["account_id"]) == ("beta", "gamma")
    assert keys_of(await listing(shop, ADMIN, account="beta")) == {first["license_key"]}
    assert keys_of(await listing(shop, ADMIN, account="gamma")) == {second["license_key"]}


async def test_only_licenses_bought_by_a_reseller_are_transferred(shop: Licensing) -> None:
    _, [direct] = await shop.order(sku="TS-SRV")  # bought by the end user itself
    refused = await shop.client.post(
        f"/licenses/{direct['license_key']}/transfer", json=GAMMA, headers=ADMIN
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "NOT_TRANSFERABLE")


async def test_without_a_maintenance_pack_only_the_version_available_at_the_purchase_date_may_be_used(  # noqa: E501
    shop: Licensing,
) -> None:
    await publish(shop, PRODUCT, "9.1.0", day(2026, 10, 1))
    _, [lic] = await shop.order(sku="TS-SRV")  # 21 November 2026, no pack
    assert lic["maintenance_plan"] == "no-pack"
    await publish(shop, PRODUCT, "9.2.0", day(2027, 1, 15))
    await publish(shop, PRODUCT, "10.0.0", day(2027, 6, 1))
    shop.clock.set(day(2027, 7, 1))
    key = lic["license_key"]
    assert await validate(shop, key, version="9.1.0") == "VALID"
    assert await validate(shop, key, version="8.4.0") == "VALID"  # an earlier major
    assert await validate(shop, key, version="9.2.0") == "VERSION_NOT_ENTITLED"
    assert await validate(shop, key, version="10.0.0") == "VERSION_NOT_ENTITLED"
    assert await validate(shop, key) == "VALID"  # the license itself keeps working


async def test_with_a_maintenance_pack_minor_releases_and_next_majors_released_during_the_support_period_are_valid(  # noqa: E501
    shop: Licensing,
) -> None:
    _, [lic] = await shop.order(sku="TS-SRV-PACK")
    assert lic["maintenance_plan"] == "pack"
    # The combined pack runs exactly 12 months: 21 November 2026 to 21 November 2027.
    await coverage_started(shop, lic, "pack", day(2026, 11, 21), day(2027, 11, 21))
    await publish(shop, PRODUCT, "9.2.0", day(2027, 1, 15))
    await publish(shop, PRODUCT, "10.0.0", day(2027, 6, 1))
    await publish(shop, PRODUCT, "11.0.0", day(2028, 1, 10))
    key = lic["license_key"]
    shop.clock.set(day(2028, 2, 1))  # the pack has ended
    assert await validate(shop, key, version="9.2.0") == "VALID"
    assert await validate(shop, key, version="10.0.0") == "VALID"
    assert await validate(shop, key, version="11.0.0") == "VERSION_NOT_ENTITLED"


async def test_a_second_maintenance_code_associated_with_the_same_license_extends_its_maintenance_date(  # noqa: E501
    shop: Licensing,
) -> None:
    _, [lic] = await shop.order(sku="TS-SRV-PACK")
    await coverage_started(shop, lic, "pack", day(2026, 11, 21), day(2027, 11, 21))
    await publish(shop, PRODUCT, "11.0.0", day(2028, 1, 10))
    assert await validate(shop, lic["license_key"], version="11.0.0") == "VERSION_NOT_ENTITLED"
    await coverage_extended(
        shop, lic, "pack", day(2027, 11, 21), day(2028, 11, 21), source="association"
    )
    assert await validate(shop, lic["license_key"], version="11.0.0") == "VALID"


async def test_a_maintenance_code_associated_later_covers_releases_from_its_purchase_on(
    shop: Licensing,
) -> None:
    _, [lic] = await shop.order(sku="TS-SRV")  # 21 November 2026, no pack
    await publish(shop, PRODUCT, "9.2.0", day(2027, 1, 15))
    await publish(shop, PRODUCT, "9.3.0", day(2027, 4, 1))
    # A 1-server maintenance code bought on 1 March 2027 and associated with the license.
    await coverage_started(
        shop, lic, "pack", day(2027, 3, 1), day(2028, 3, 1), source="association"
    )
    key = lic["license_key"]
    assert await validate(shop, key, version="9.2.0") == "VERSION_NOT_ENTITLED"
    assert await validate(shop, key, version="9.3.0") == "VALID"


async def test_a_site_license_covers_every_server_of_one_site(shop: Licensing) -> None:
    _, [site] = await shop.order(sku="TS-SITE")
    assert site["max_activations"] == 100
    key = site["license_key"]
    for n in range(1, 4):
        assert (await activate(shop, key, n)).status_code == 201
    assert await validate(shop, key, fingerprint="fp-3") == "VALID"
    linux = await activate(shop, key, 4, "linux")
    assert (linux.status_code, linux.json()["code"]) == (403, "PLATFORM_NOT_LICENSED")


async def test_a_one_server_license_runs_on_one_server(shop: Licensing) -> None:
    _, [server] = await shop.order(sku="TS-SRV")
    assert (await activate(shop, server["license_key"], 1)).status_code == 201
    second = await activate(shop, server["license_key"], 2)
    assert (second.status_code, second.json()["code"]) == (409, "TOO_MANY_ACTIVATIONS")
    assert await validate(shop, server["license_key"], fingerprint="fp-2") == (
        "TOO_MANY_ACTIVATIONS"
    )


async def test_a_maintenance_code_bought_on_its_own_issues_no_license(shop: Licensing) -> None:
    _, issued = await shop.order(sku="TS-MAINT-SRV")
    assert issued == []
