"""Small steps the preset scenario tests share: validate, activate, publish, cover, list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from entitle_events import new_event
from entitle_events.common import CoveragePeriod
from entitle_events.maintenance import CoverageExtended, CoverageStarted, CoverageWithdrawn

from services.licensing.handlers.coverage import on_coverage_events

from .conftest import ADMIN, Licensing

RESELLER = {"authorization": "Bearer reseller-key"}
OTHER_RESELLER = {"authorization": "Bearer other-reseller"}
RESELLER_BUYER = {
    "account_id": "resell",
    "company": "Resell Ltd",
    "email": "ops@resell.example",
    "reseller": True,
}
BETA = {"account_id": "beta", "company": "Beta AG", "email": "it@beta.example"}
GAMMA = {"account_id": "gamma", "company": "Gamma SA", "email": "it@gamma.example"}


def day(year: int, month: int, dom: int) -> datetime:
    """Noon UTC of a calendar day, the time every scenario date is given at."""
    return datetime(year, month, dom, 12, 0, tzinfo=UTC)


def customer(account_id: str) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "company": f"{account_id.title()} Ltd",
        "email": f"it@{account_id}.example",
        "reseller": False,
    }


def machine(n: int, platform: str = "windows") -> dict[str, str]:
    return {"fingerprint": f"fp-{n}", "platform": platform, "hostname": f"host-{n}"}


async def validate(shop: Licensing, key: str, **body: str) -> str:
    """The validation code the product gets for this key."""
    response = await shop.client.post("/licenses/validate", json={"key": key, **body})
    assert response.status_code == 200, response.text
    code: str = response.json()["code"]
    return code


async def activate(shop: Licensing, key: str, n: int, platform: str = "windows") -> httpx.Response:
    return await shop.client.post(f"/licenses/{key}/activations", json=machine(n, platform))


async def publish(shop: Licensing, product: str, version: str, released_at: datetime) -> None:
    response = await shop.client.post(
        "/releases",
        headers=ADMIN,
        json={"product": product, "version": version, "released_at": released_at.isoformat()},
    )
    assert response.status_code == 201, response.text


async def view(shop: Licensing, key: str) -> dict[str, Any]:
    response = await shop.client.get(f"/licenses/{key}", headers=ADMIN)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def listing(
    shop: Licensing, headers: dict[str, str], **params: str | int | bool
) -> dict[str, Any]:
    response = await shop.client.get("/licenses", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def keys_of(body: dict[str, Any]) -> set[str]:
    return {item["key"] for item in body["items"]}


async def coverage_started(
    shop: Licensing,
    license: dict[str, Any],
    plan: str,
    starts_at: datetime,
    ends_at: datetime | None,
    source: str = "included",
) -> None:
    """Feed maintenance's CoverageStarted; `ends_at` None: covered while the license is active."""
    periods = (
        []
        if ends_at is None
        else [CoveragePeriod(starts_at=starts_at, ends_at=ends_at, source=source)]
    )
    started = CoverageStarted(
        license_id=str(license["license_id"]),
        license_key=license["license_key"],
        product=license["product"],
        account_id=license["account_id"],
        contact_email=license["contact_email"],
        plan=plan,
        periods=periods,
        ends_at=ends_at,
    )
    async with shop.runtime.transaction() as ctx:
        await on_coverage_events(
            ctx,
            [new_event(started, source="maintenance", subject=started.license_id, time=starts_at)],
        )


async def coverage_extended(
    shop: Licensing,
    license: dict[str, Any],
    plan: str,
    starts_at: datetime,
    ends_at: datetime,
    source: str = "renewal",
) -> None:
    extended = CoverageExtended(
        license_id=str(license["license_id"]),
        license_key=license["license_key"],
        product=license["product"],
        account_id=license["account_id"],
        contact_email=license["contact_email"],
        plan=plan,
        period=CoveragePeriod(starts_at=starts_at, ends_at=ends_at, source=source),
        ends_at=ends_at,
    )
    async with shop.runtime.transaction() as ctx:
        await on_coverage_events(
            ctx,
            [
                new_event(
                    extended, source="maintenance", subject=extended.license_id, time=starts_at
                )
            ],
        )


async def coverage_withdrawn(
    shop: Licensing,
    license: dict[str, Any],
    starts_at: datetime,
    ends_at: datetime,
    remaining_end: datetime | None,
    source: str = "renewal",
) -> None:
    """Feed maintenance's CoverageWithdrawn: a refund took the period back."""
    withdrawn = CoverageWithdrawn(
        license_id=str(license["license_id"]),
        license_key=license["license_key"],
        product=license["product"],
        account_id=license["account_id"],
        contact_email=license["contact_email"],
        order_id="refunded-order",
        periods=[CoveragePeriod(starts_at=starts_at, ends_at=ends_at, source=source)],
        ends_at=remaining_end,
    )
    async with shop.runtime.transaction() as ctx:
        await on_coverage_events(
            ctx,
            [
                new_event(
                    withdrawn, source="maintenance", subject=withdrawn.license_id, time=ends_at
                )
            ],
        )
