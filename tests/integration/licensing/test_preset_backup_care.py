"""Seed 000, preset backup-care.toml: a backup product (current major 5) with add-on licenses
(mailbox, database) and an upgrade-protection "care" bundle; every new license comes with 3
complimentary months of care. Every license is bought on 21 November 2026, so its
complimentary care runs until 21 February 2027."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from entitle_events.licensing import LicenseIssued

from services.runtime.context import Context

from .conftest import ADMIN, Licensing
from .scenario import (
    coverage_extended,
    coverage_started,
    coverage_withdrawn,
    customer,
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


def line(sku: str, **fields: Any) -> dict[str, Any]:
    return {"line_id": "1", "sku": sku, "quantity": 1, "unit_price": "399.00", **fields}


async def test_an_order_line_names_the_major_it_licenses_and_a_v4_license_expects_no_care(
    shop: Licensing, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seed 000: v3/v4 users "can only purchase BackupCare by first upgrading to Version 5"
    (maintenance starts no cover for them, so the license email must not wait for one)."""
    issued: list[LicenseIssued] = []
    original = Context.emit

    def recording(self: Context, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, LicenseIssued):
            issued.append(data)
        return original(self, data, **kwargs)

    monkeypatch.setattr(Context, "emit", recording)
    _, [v4] = await shop.order(lines=[line("BM-SRV", major_version=4)])
    _, [v5] = await shop.order(lines=[line("BM-SRV")])
    assert (v4["major_version"], v5["major_version"]) == (4, 5)
    assert [(e.major_version, e.coverage_expected) for e in issued] == [(4, False), (5, True)]
    _, beyond = await shop.order(lines=[line("BM-SRV", major_version=6)])
    assert beyond == []  # rejected MAJOR_VERSION_NOT_SOLD: version 6 is not sold yet

    # A full-price upgrade line moves the license to version 5, as maintenance does.
    await publish(shop, PRODUCT, "5.0.1", day(2026, 12, 1))
    shop.clock.set(day(2027, 1, 1))
    assert await validate(shop, v4["license_key"], version="5.0.1") == "VERSION_NOT_ENTITLED"
    await shop.order(lines=[line("BM-UPG-SRV", license_key=v4["license_key"])])
    assert (await view(shop, v4["license_key"]))["major_version"] == 5
    assert await validate(shop, v4["license_key"], version="5.0.1") == "VALID"


async def test_an_add_on_needs_a_base_license_of_its_own_account(shop: Licensing) -> None:
    _, [theirs] = await shop.order(sku="BM-SRV", buyer=customer("other"))
    _, [mine] = await shop.order(sku="BM-SRV")
    _, refused = await shop.order(lines=[add_on_line("BM-MAILBOX", theirs["license_key"])])
    assert refused == []
    _, [mailbox] = await shop.order(lines=[add_on_line("BM-MAILBOX", mine["license_key"])])
    assert mailbox["base_license_id"] == mine["license_id"]


async def test_a_refunded_renewal_no_longer_entitles_what_it_covered(shop: Licensing) -> None:
    _, [base] = await shop.order(sku="BM-SRV")
    await complimentary_care(shop, base)
    await coverage_extended(shop, base, "care", day(2027, 2, 21), day(2028, 2, 21))
    await publish(shop, PRODUCT, "6.0.0", day(2027, 6, 1))  # inside the renewal only
    assert await validate(shop, base["license_key"], version="6.0.0") == "VALID"
    await coverage_withdrawn(shop, base, day(2027, 2, 21), day(2028, 2, 21), day(2027, 2, 21))
    assert await validate(shop, base["license_key"], version="6.0.0") == "VERSION_NOT_ENTITLED"
