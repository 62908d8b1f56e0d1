"""Seed 000, preset backup-care.toml: a backup product (current major 5) with add-on licenses
(mailbox, database) and an upgrade-protection "care" bundle; every new license comes with 3
complimentary months of care. Every license is bought on 21 November 2026, so its
complimentary care runs until 21 February 2027."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from .conftest import ADMIN, Licensing
from .scenario import (
    coverage_extended,
    coverage_started,
    day,
    publish,
    validate,
    view,
)

PRODUCT = "backup-manager"


@pytest.fixture
async def shop(
    licensing_for: Callable[[str], AbstractAsyncContextManager[Licensing]],
) -> AsyncIterator[Licensing]:
    async with licensing_for("backup-care.toml") as running:
        yield running


def add_on_line(sku: str, base_key: str | None, line_id: str = "1") -> dict[str, Any]:
    line: dict[str, Any] = {"line_id": line_id, "sku": sku, "quantity": 1, "unit_price": "99.00"}
    if base_key is not None:
        line["license_key"] = base_key
    return line


async def complimentary_care(shop: Licensing, base: dict[str, Any]) -> None:
    await coverage_started(
        shop, base, "care", day(2026, 11, 21), day(2027, 2, 21), source="complimentary"
    )


async def test_an_add_on_license_is_bought_for_an_existing_backup_manager_license(
    shop: Licensing,
) -> None:
    _, [base] = await shop.order(sku="BM-SRV")
    _, without_base = await shop.order(lines=[add_on_line("BM-MAILBOX", None)])
    assert without_base == []
    _, [mailbox] = await shop.order(lines=[add_on_line("BM-MAILBOX", base["license_key"])])
    assert (mailbox["product"], mailbox["base_license_id"]) == (
        "mailbox-addon",
        base["license_id"],
    )
    assert mailbox["maintenance_plan"] is None  # add-ons carry no plan of their own
    assert await validate(shop, mailbox["license_key"], product="mailbox-addon") == "VALID"


async def test_an_add_on_cannot_extend_a_revoked_license(shop: Licensing) -> None:
    _, [base] = await shop.order(sku="BM-DESK")
    await shop.client.post(f"/licenses/{base['license_key']}/revoke", headers=ADMIN)
    _, issued = await shop.order(lines=[add_on_line("BM-DATABASE", base["license_key"])])
    assert issued == []


async def test_add_on_licenses_are_upgraded_for_free_whenever_backup_manager_is_upgraded_under_care(
    shop: Licensing,
) -> None:
    _, [base] = await shop.order(sku="BM-SRV")
    _, [mailbox, database] = await shop.order(
        lines=[
            add_on_line("BM-MAILBOX", base["license_key"], "1"),
            add_on_line("BM-DATABASE", base["license_key"], "2"),
        ]
    )
    await complimentary_care(shop, base)
    await publish(shop, PRODUCT, "6.0.0", day(2027, 1, 10))  # inside the complimentary months
    await publish(shop, PRODUCT, "7.0.0", day(2028, 6, 1))  # after care ended
    shop.clock.set(day(2028, 7, 1))
    for lic in (base, mailbox, database):
        assert await validate(shop, lic["license_key"], version="6.0.0") == "VALID"
        assert await validate(shop, lic["license_key"], version="7.0.0") == ("VERSION_NOT_ENTITLED")

    # Renewing the base license's care, bought 1 July 2028, covers its add-ons too.
    await coverage_extended(shop, base, "care", day(2027, 2, 21), day(2029, 2, 21))
    for lic in (base, mailbox, database):
        assert await validate(shop, lic["license_key"], version="7.0.0") == "VALID"


async def test_without_care_maintenance_releases_stay_free_but_a_new_version_needs_an_upgrade(
    shop: Licensing,
) -> None:
    _, [base] = await shop.order(sku="BM-DESK")
    await complimentary_care(shop, base)  # 21 November 2026 to 21 February 2027, not renewed
    await publish(shop, PRODUCT, "5.0.1", day(2027, 8, 1))
    await publish(shop, PRODUCT, "6.0.0", day(2027, 9, 1))
    shop.clock.set(day(2027, 10, 1))
    key = base["license_key"]
    assert await validate(shop, key, version="5.0.1") == "VALID"
    assert await validate(shop, key, version="6.0.0") == "VERSION_NOT_ENTITLED"
    assert await validate(shop, key) == "VALID"


async def test_a_new_license_is_a_version_5_license_with_three_complimentary_months_of_care(
    shop: Licensing,
) -> None:
    _, [base] = await shop.order(sku="BM-SRV")
    shown = await view(shop, base["license_key"])
    assert (shown["major_version"], shown["maintenance_plan"], shown["expires_at"]) == (
        5,
        "care",
        None,
    )
    await complimentary_care(shop, base)
    await publish(shop, PRODUCT, "6.0.0", day(2027, 2, 20))  # the last day of the bonus months
    await publish(shop, PRODUCT, "7.0.0", day(2027, 2, 22))  # the day after
    assert await validate(shop, base["license_key"], version="6.0.0") == "VALID"
    assert await validate(shop, base["license_key"], version="7.0.0") == "VERSION_NOT_ENTITLED"


async def test_an_add_on_of_a_revoked_backup_manager_license_is_no_longer_upgraded(
    shop: Licensing,
) -> None:
    _, [base] = await shop.order(sku="BM-SRV")
    _, [mailbox] = await shop.order(lines=[add_on_line("BM-MAILBOX", base["license_key"])])
    await complimentary_care(shop, base)
    await publish(shop, PRODUCT, "6.0.0", day(2027, 1, 10))
    await shop.client.post(f"/licenses/{base['license_key']}/revoke", headers=ADMIN)
    assert await validate(shop, base["license_key"], version="6.0.0") == "REVOKED"
    # The add-on cannot be used without its base: it answers as its base does.
    assert await validate(shop, mailbox["license_key"], version="6.0.0") == "REVOKED"
