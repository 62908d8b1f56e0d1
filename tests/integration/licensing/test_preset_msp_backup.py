"""Seed 001, preset msp-backup.toml: a remote backup service for MSPs, licensed per
instance, sold as monthly or annual subscriptions, bought in bulk into a reseller pool or
matched to a company. Every order is placed on 21 November 2026 unless a test says
otherwise."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import pytest

from services.licensing.handlers.expiry import expire_due

from .conftest import ADMIN, Licensing
from .scenario import (
    BETA,
    OTHER_RESELLER,
    RESELLER,
    RESELLER_BUYER,
    activate,
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
    async with licensing_for("msp-backup.toml") as running:
        yield running


async def test_each_computer_requires_a_separate_license(shop: Licensing) -> None:
    _, issued = await shop.order(buyer=customer("northwind"), sku="MB-DESK-M", quantity=3)
    assert len(issued) == 3
    assert len({lic["license_key"] for lic in issued}) == 3
    assert all(lic["max_activations"] == 1 for lic in issued)
    first, second, _ = (lic["license_key"] for lic in issued)

    assert (await activate(shop, first, 1)).status_code == 201
    second_computer = await activate(shop, first, 2)
    assert (second_computer.status_code, second_computer.json()["code"]) == (
        409,
        "TOO_MANY_ACTIVATIONS",
    )
    assert (await activate(shop, second, 2)).status_code == 201
    assert await validate(shop, first, fingerprint="fp-1") == "VALID"
    assert await validate(shop, second, fingerprint="fp-2") == "VALID"


async def test_licenses_purchased_in_bulk_shape_a_global_pool_of_the_reseller(
    shop: Licensing,
) -> None:
    _, pool = await shop.order(buyer=RESELLER_BUYER, sku="MB-SRV-Y", quantity=5)
    assert len(pool) == 5
    assert all(lic["pooled"] and lic["account_id"] == "resell" for lic in pool)
    seen = await listing(shop, RESELLER)
    assert keys_of(seen) == {lic["license_key"] for lic in pool}
    assert all(item["pooled"] for item in seen["items"])

    key = pool[0]["license_key"]
    by_another_reseller = await shop.client.post(
        f"/licenses/{key}/assign", json=BETA, headers=OTHER_RESELLER
    )
    assert by_another_reseller.status_code == 404
    assigned = await shop.client.post(f"/licenses/{key}/assign", json=BETA, headers=RESELLER)
    assert assigned.status_code == 200, assigned.text
    assert (assigned.json()["account_id"], assigned.json()["pooled"]) == ("beta", False)
    assert keys_of(await listing(shop, ADMIN, account="beta")) == {key}
    still_pooled = [item for item in (await listing(shop, RESELLER))["items"] if item["pooled"]]
    assert len(still_pooled) == 4
    again = await shop.client.post(f"/licenses/{key}/assign", json=BETA, headers=RESELLER)
    assert (again.status_code, again.json()["code"]) == (409, "NOT_IN_POOL")


async def test_licenses_purchased_in_separate_transactions_are_matched_with_a_company(
    shop: Licensing,
) -> None:
    _, matched = await shop.order(
        buyer=RESELLER_BUYER, end_customer={**BETA, "reseller": False}, sku="MB-VM-M", quantity=2
    )
    assert len(matched) == 2
    assert all(
        (lic["account_id"], lic["company"], lic["pooled"], lic["reseller_account_id"])
        == ("beta", "Beta AG", False, "resell")
        for lic in matched
    )
    assert keys_of(await listing(shop, ADMIN, account="beta")) == {
        lic["license_key"] for lic in matched
    }
    assert keys_of(await listing(shop, ADMIN, account="resell")) == set()


async def test_the_payment_mode_monthly_or_annual_is_selected_with_the_first_purchase_only(
    shop: Licensing,
) -> None:
    buyer = customer("monthlyco")
    _, first = await shop.order(buyer=buyer, sku="MB-DESK-M", payment_mode="monthly")
    _, annual = await shop.order(buyer=buyer, sku="MB-DESK-Y", payment_mode="annual")
    _, monthly_again = await shop.order(buyer=buyer, sku="MB-SRV-M", payment_mode="monthly")
    assert (len(first), annual, len(monthly_again)) == (1, [], 1)
    assert len((await listing(shop, ADMIN, account="monthlyco"))["items"]) == 2

    _, other_account = await shop.order(
        buyer=customer("yearlyco"), sku="MB-DESK-Y", payment_mode="annual"
    )
    assert len(other_account) == 1  # another account chooses its own mode


async def test_macos_and_linux_require_a_desktop_or_server_license(shop: Licensing) -> None:
    licenses = {}
    for sku in ("MB-DESK-M", "MB-SRV-M", "MB-VM-M", "MB-DB-M"):
        _, [lic] = await shop.order(sku=sku, payment_mode="annual")
        licenses[sku] = lic["license_key"]

    assert (await activate(shop, licenses["MB-DESK-M"], 1, "macos")).status_code == 201
    assert (await activate(shop, licenses["MB-SRV-M"], 2, "linux")).status_code == 201
    for sku, platform in (("MB-VM-M", "linux"), ("MB-DB-M", "macos")):
        refused = await activate(shop, licenses[sku], 3, platform)
        assert (refused.status_code, refused.json()["code"]) == (403, "PLATFORM_NOT_LICENSED")
    assert (await activate(shop, licenses["MB-VM-M"], 3, "windows")).status_code == 201
    assert (await activate(shop, licenses["MB-DB-M"], 4, "windows")).status_code == 201


async def test_the_console_filters_commercial_or_trial_valid_or_expired_used_or_unused_and_auto_renew(  # noqa: E501
    shop: Licensing,
) -> None:
    company = customer("contoso")
    _, [trial] = await shop.order(buyer=company, sku="MB-SRV-TRIAL")
    _, [monthly] = await shop.order(buyer=company, sku="MB-DESK-M")
    _, [annual] = await shop.order(buyer=company, sku="MB-SRV-Y")
    assert (await activate(shop, annual["license_key"], 1)).status_code == 201
    trial_key, monthly_key, annual_key = (
        trial["license_key"],
        monthly["license_key"],
        annual["license_key"],
    )

    async def shown(**filters: str | bool) -> set[str]:
        return keys_of(await listing(shop, ADMIN, account="contoso", **filters))

    assert await shown() == {trial_key, monthly_key, annual_key}
    assert await shown(kind="commercial") == {monthly_key, annual_key}
    assert await shown(kind="trial") == {trial_key}
    assert await shown(kind="commercial", usage="used") == {annual_key}
    assert await shown(kind="commercial", usage="unused") == {monthly_key}
    assert await shown(auto_renew=True) == {monthly_key, annual_key}
    assert await shown(state="valid") == {trial_key, monthly_key, annual_key}
    assert await shown(state="expired") == set()

    # 22 December 2026: the one-month trial and the monthly subscription have run out.
    shop.clock.set(day(2026, 12, 22))
    assert await expire_due(shop.runtime) == 2
    assert await shown(state="expired") == {trial_key, monthly_key}
    assert await shown(state="valid") == {annual_key}
    assert await shown(kind="commercial", state="expired") == {monthly_key}
    assert (await view(shop, monthly_key))["status"] == "expired"
    assert await validate(shop, trial_key) == "EXPIRED"


async def test_a_license_type_never_purchased_reports_you_have_not_purchased_licenses_of_this_type(
    shop: Licensing,
) -> None:
    _, _ = await shop.order(buyer=customer("fabrikam"), sku="MB-SRV-Y")
    trials = await listing(shop, ADMIN, account="fabrikam", kind="trial")
    assert trials["items"] == []
    assert trials["notice"] == "You have not purchased licenses of this type"
    commercial = await listing(shop, ADMIN, account="fabrikam", kind="commercial")
    assert len(commercial["items"]) == 1 and commercial["notice"] is None
    none_expired = await listing(
        shop, ADMIN, account="fabrikam", kind="commercial", state="expired"
    )
    assert none_expired["items"] == [] and none_expired["notice"] is None


async def test_a_subscription_is_renewed_from_its_previous_expiry_date(shop: Licensing) -> None:
    _, [sub] = await shop.order(sku="MB-SRV-M")
    assert sub["expires_at"] == day(2026, 12, 21)
    assert sub["auto_renew"] is True
    renewal = {
        "line_id": "1",
        "sku": "MB-SRV-M",
        "quantity": 1,
        "unit_price": "12.00",
        "license_key": sub["license_key"],
    }
    _, issued = await shop.order(lines=[renewal], placed_at=day(2026, 12, 15))
    assert issued == []  # a renewal issues no new license
    assert (await view(shop, sub["license_key"]))["expires_at"].startswith("2027-01-21")
    shop.clock.set(day(2027, 1, 1))
    assert await validate(shop, sub["license_key"]) == "VALID"


async def test_updates_are_included_while_the_subscription_is_active(shop: Licensing) -> None:
    _, [sub] = await shop.order(sku="MB-SRV-Y")
    await publish(shop, "remote-backup", "8.0.0", day(2027, 3, 1))
    shop.clock.set(day(2027, 3, 2))
    assert await validate(shop, sub["license_key"], version="8.0.0") == "VALID"
    assert await validate(shop, sub["license_key"], version="7.2.0") == "VALID"
    # 22 November 2027: the annual subscription has expired; nothing may be used any more.
    shop.clock.set(day(2027, 11, 22))
    assert await validate(shop, sub["license_key"], version="8.0.0") == "EXPIRED"


async def test_premium_support_and_onboarding_issue_no_license(shop: Licensing) -> None:
    lines = [
        {"line_id": "1", "sku": "MB-SRV-Y", "quantity": 1, "unit_price": "120.00"},
        {"line_id": "2", "sku": "MB-PREMIUM-SUPPORT", "quantity": 1, "unit_price": "300.00"},
        {"line_id": "3", "sku": "MB-ONBOARDING", "quantity": 1, "unit_price": "150.00"},
    ]
    _, issued = await shop.order(lines=lines)
    assert [lic["sku"] for lic in issued] == ["MB-SRV-Y"]
