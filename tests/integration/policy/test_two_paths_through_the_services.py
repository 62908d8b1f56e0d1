"""Rules answered by two services agree when both are the real thing: random orders,
renewals, upgrades, associations, refunds and releases, on every preset, applied by
licensing's and maintenance's own handlers on their own PostgreSQL databases (hypothesis).

Events are handed from one service to the other the way the broker would, in order:

* quote vs order: maintenance's `GET /renewal-quote` before an order, and what its order
  handler then does with the order's first unit (the same period and price, or the same
  refusal);
* coverage vs projection: maintenance's periods (`GET /coverage/{key}`) and the periods
  licensing's projection keeps from the `coverage.*` events (its `coverage_periods` table);
* eligibility vs validation: maintenance's `GET /eligibility` and licensing's
  `POST /licenses/validate` for the same published release.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from entitle_events import Event, EventData, new_event
from entitle_events.commerce import OrderPlaced, OrderRefunded
from entitle_events.licensing import LicenseIssued
from entitle_events.maintenance import (
    CoverageExtended,
    MaintenanceCodesIssued,
    RenewalRejected,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.licensing.handlers.expiry import expire_due
from services.policy.catalog import Catalog, Sku
from tests.infra import Infra
from tests.integration.licensing.conftest import ADMIN as LICENSING_ADMIN
from tests.integration.licensing.conftest import Licensing
from tests.integration.licensing.conftest import running as licensing_running
from tests.integration.maintenance.conftest import ACME, ADMIN, PRESETS, Maintenance
from tests.integration.maintenance.conftest import running as maintenance_running

START = datetime(2024, 1, 10, 12, tzinfo=UTC)
PRESET_FILES = sorted(p.name for p in PRESETS.glob("*.toml"))
orders = itertools.count(1)


class Shop:
    """Both services on one preset, with the broker's part played in process: every event
    one service emits is applied by the other's handler before the next step."""

    def __init__(self, licensing: Licensing, maintenance: Maintenance) -> None:
        self.licensing = licensing
        self.maintenance = maintenance
        self.delivered = len(maintenance.emitted)  # every Context.emit lands in this list

    @property
    def catalog(self) -> Catalog:
        return self.maintenance.catalog

    def at(self, now: datetime) -> None:
        self.licensing.clock.set(now)
        self.maintenance.clock.set(now)

    async def publish(self, data: EventData, subject: str) -> list[EventData]:
        """Deliver `data` and everything it causes; return what the services emitted."""
        first = len(self.maintenance.emitted)
        await self._route(self._event(data, subject))
        await self.carry()
        return self.maintenance.emitted[first:]

    async def carry(self) -> None:
        """Deliver, in order, what the services emitted since the last delivery (an HTTP
        command's events leave through the outbox too)."""
        emitted = self.maintenance.emitted
        while self.delivered < len(emitted):
            data = emitted[self.delivered]
            self.delivered += 1
            await self._route(self._event(data, getattr(data, "license_id", "-")))

    def _event(self, data: EventData, subject: str) -> Event[Any]:
        return new_event(data, source="test", subject=subject, time=self.maintenance.clock.now())

    async def _route(self, event: Event[Any]) -> None:
        """Apply `event` with the handler each service's consumer would call for it."""
        for service in (self.licensing, self.maintenance):
            handler = service.runtime.definition.subscriptions.handlers.get(event.type)
            if handler is not None:
                async with service.runtime.transaction(cause=event) as ctx:
                    await handler(ctx, event)

    async def expire(self) -> None:
        """Licensing's expiry job, as it runs every few seconds."""
        await expire_due(self.licensing.runtime)
        await self.carry()

    async def order(
        self, placed_at: datetime, *lines: dict[str, Any]
    ) -> tuple[str, list[EventData]]:
        order_id = f"TP-{next(orders)}-{uuid.uuid4().hex[:6]}"
        data = OrderPlaced.model_validate(
            {
                "order_id": order_id,
                "placed_at": placed_at.isoformat(),
                "currency": self.catalog.currency,
                "payment_mode": "annual",
                "buyer": {"account_id": "acme", "company": "ACME GmbH", "email": "it@acme.example"},
                "lines": [
                    {"line_id": str(i + 1), "quantity": 1, "unit_price": "10.00", **line}
                    for i, line in enumerate(lines)
                ],
            }
        )
        return order_id, await self.publish(data, order_id)


def standalone_licenses(catalog: Catalog) -> list[Sku]:
    """Licenses that need no base license."""
    return [
        s
        for s in catalog.skus
        if s.kind == "license"
        and (p := catalog.product(s.product)) is not None
        and p.base_product is None
    ]


@pytest.fixture(params=PRESET_FILES)
async def shop(
    request: pytest.FixtureRequest,
    infra: Infra,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Shop]:
    preset = PRESETS / request.param
    async with (
        licensing_running(infra, tmp_path, preset) as lic,
        maintenance_running(infra, tmp_path, monkeypatch, preset) as maint,
    ):
        yield Shop(lic, maint)


# One step: (what, days after the previous step, a choice, a quantity).
steps = st.lists(
    st.tuples(
        st.sampled_from(
            ["renew", "renew", "resubscribe", "associate", "upgrade", "refund", "release"]
        ),
        st.integers(0, 400),
        st.integers(0, 1000),
        st.integers(1, 3),
    ),
    min_size=1,
    max_size=7,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.integers(0, 1000), st.integers(0, 2), steps)
async def test_licensing_and_maintenance_agree_on_every_doubly_answered_rule(
    shop: Shop, license_choice: int, majors_back: int, history: list[tuple[str, int, int, int]]
) -> None:
    catalog = shop.catalog
    skus = standalone_licenses(catalog)
    sku = skus[license_choice % len(skus)]
    product = catalog.product(sku.product)
    assert product is not None
    major = max(product.current_major - majors_back, 0)
    now = START
    shop.at(now)
    _, emitted = await shop.order(now, {"sku": sku.code, "major_version": major})
    [issued] = [e for e in emitted if isinstance(e, LicenseIssued)]
    key = issued.license_key
    refundable: list[str] = []

    for what, days, choice, quantity in history:
        now += timedelta(days=days)
        shop.at(now)
        await shop.expire()
        if what == "renew":
            refundable += await _renew(shop, key, now, choice, quantity)
        elif what == "resubscribe" and issued.kind == "subscription":
            await shop.order(now, {"sku": sku.code, "license_key": key, "quantity": quantity})
        elif what == "associate":
            refundable += await _associate(shop, key, now, choice)
        elif what == "upgrade":
            refundable += await _upgrade(shop, key, now, choice)
        elif what == "refund" and refundable:
            order_id = refundable.pop(choice % len(refundable))
            await shop.publish(
                OrderRefunded(order_id=order_id, refunded_at=now, reason="test"), order_id
            )
        elif what == "release":
            await _release_and_compare(shop, issued, key, now, choice)
        await _compare_coverage(shop, key, issued.license_id)


def _of_kind(catalog: Catalog, kind: str, product: str) -> list[Sku]:
    return [s for s in catalog.skus if s.kind == kind and s.product == product]


async def _renew(shop: Shop, key: str, now: datetime, choice: int, quantity: int) -> list[str]:
    """Quote vs order: the order's first unit is what the quote said."""
    product = (await shop.maintenance.coverage(key))["product"]
    skus = _of_kind(shop.catalog, "maintenance", product)
    if not skus:
        return []
    sku = skus[choice % len(skus)]
    quoted = await shop.maintenance.client.get(
        "/renewal-quote", params={"key": key, "sku": sku.code}, headers=ADMIN
    )
    assert quoted.status_code == 200, quoted.text
    q = quoted.json()
    order_id, emitted = await shop.order(
        now, {"sku": sku.code, "license_key": key, "quantity": quantity}
    )
    extended = [e for e in emitted if isinstance(e, CoverageExtended)]
    rejected = [e for e in emitted if isinstance(e, RenewalRejected)]
    if q["allowed"]:
        assert extended, (q, rejected)
        first = extended[0].period
        assert (first.starts_at, first.ends_at) == (
            datetime.fromisoformat(q["starts_at"]),
            datetime.fromisoformat(q["ends_at"]),
        )
        assert len(extended) == quantity or rejected
        return [order_id]
    assert not extended and [r.code for r in rejected] == [q["code"]], (q, emitted)
    return []


async def _associate(shop: Shop, key: str, now: datetime, choice: int) -> list[str]:
    """A code bought on its own, then attached to the license (or refused)."""
    product = (await shop.maintenance.coverage(key))["product"]
    skus = _of_kind(shop.catalog, "maintenance", product)
    if not skus:
        return []
    sku = skus[choice % len(skus)]
    bought_at = now - timedelta(days=choice % 60)
    order_id, emitted = await shop.order(bought_at, {"sku": sku.code})
    [codes] = [e.codes for e in emitted if isinstance(e, MaintenanceCodesIssued)]
    attached = await shop.maintenance.client.post(
        "/associations", json={"maintenance_code": codes[0], "license_key": key}, headers=ACME
    )
    assert attached.status_code in (201, 409, 422), attached.text
    await shop.carry()
    return [order_id]


async def _upgrade(shop: Shop, key: str, now: datetime, choice: int) -> list[str]:
    """A full-price upgrade moves the license's major in both services."""
    product = (await shop.maintenance.coverage(key))["product"]
    skus = _of_kind(shop.catalog, "upgrade", product)
    if not skus:
        return []
    order_id, _ = await shop.order(now, {"sku": skus[choice % len(skus)].code, "license_key": key})
    return [order_id]


async def _release_and_compare(
    shop: Shop, issued: LicenseIssued, key: str, now: datetime, choice: int
) -> None:
    """Eligibility vs validation, for a release published through licensing."""
    catalog = shop.catalog
    product = catalog.release_product(issued.product)
    current = catalog.product(product)
    assert current is not None
    version = f"{max(issued.major_version + choice % 4 - 1, 0)}.{choice % 3}.{choice % 2}"
    released_at = now - timedelta(days=choice % 900)
    published = await shop.licensing.client.post(
        "/releases",
        json={"product": product, "version": version, "released_at": released_at.isoformat()},
        headers=LICENSING_ADMIN,
    )
    assert published.status_code in (201, 409), published.text  # 409: an earlier example's
    await shop.carry()
    eligibility = await shop.maintenance.client.get(
        "/eligibility", params={"key": key, "version": version}, headers=ADMIN
    )
    assert eligibility.status_code == 200, eligibility.text
    validation = await shop.licensing.client.post(
        "/licenses/validate", json={"key": key, "version": version}
    )
    assert validation.status_code == 200, validation.text
    answer, verdict = eligibility.json(), validation.json()
    assert answer["entitled"] == verdict["valid"], (version, released_at, answer, verdict)


async def _compare_coverage(shop: Shop, key: str, license_id: str) -> None:
    """Coverage vs projection: the same periods on both sides."""
    maintained = {
        (datetime.fromisoformat(p["starts_at"]), datetime.fromisoformat(p["ends_at"]))
        for p in (await shop.maintenance.coverage(key))["periods"]
    }
    rows = await shop.licensing.runtime.pool.fetch(
        "select starts_at, ends_at from coverage_periods where license_id = $1",
        uuid.UUID(license_id),
    )
    assert {(r["starts_at"], r["ends_at"]) for r in rows} == maintained


def test_every_preset_sells_a_license_the_property_can_start_from() -> None:
    from services.policy.catalog import load_catalog

    for name in PRESET_FILES:
        assert standalone_licenses(load_catalog(PRESETS / name)), name
