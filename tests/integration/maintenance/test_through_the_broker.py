"""The running service: events in from the topics, coverage events out on its own."""

from __future__ import annotations

import uuid
from typing import Any

from entitle_events import decode
from entitle_events.commerce import OrderPlaced
from entitle_events.licensing import LicenseIssued
from entitle_events.maintenance import CoverageExtended, CoverageStarted
from entitle_events.topics import COMMERCE_ORDERS, LICENSING_LICENSES, MAINTENANCE_COVERAGE

from tests.helpers import eventually
from tests.integration.kafka_tools import produce_events, read_all

from .conftest import ADMIN, NOW, Maintenance, at


async def test_license_and_renewal_from_the_topics(maintenance: Maintenance) -> None:
    settings = maintenance.runtime.settings
    prefix, bootstrap = settings.kafka_topic_prefix, settings.kafka_bootstrap
    license_id, key = str(uuid.uuid4()), f"BP-{uuid.uuid4().hex[:12].upper()}"
    issued = LicenseIssued(
        license_id=license_id,
        license_key=key,
        product="backup-pro",
        account_id="acme",
        kind="perpetual",
        edition="server",
        sku="BP-SRV",
        company="ACME GmbH",
        contact_email="it@acme.example",
        order_id="O-BROKER-1",
        line_id="1",
        purchased_at=at(2026, 10, 1),
        major_version=5,
        max_activations=1,
        payment_mode="annual",
        maintenance_plan="backup-care-12",
        coverage_expected=True,
    )
    await produce_events(
        bootstrap, prefix + LICENSING_LICENSES, [maintenance.event(issued, license_id)]
    )

    async def covered() -> dict[str, Any] | None:
        response = await maintenance.client.get(f"/coverage/{key}", headers=ADMIN)
        return response.json() if response.status_code == 200 else None

    assert (await eventually(covered))["status"] == "active"

    order = OrderPlaced.model_validate(
        {
            "order_id": "O-BROKER-2",
            "placed_at": NOW.isoformat(),
            "currency": "EUR",
            "payment_mode": "annual",
            "buyer": {"account_id": "acme", "company": "ACME GmbH", "email": "it@acme.example"},
            "lines": [
                {
                    "line_id": "1",
                    "sku": "BP-CARE-12",
                    "quantity": 1,
                    "unit_price": "41.30",
                    "license_key": key,
                },
            ],
        }
    )
    await produce_events(
        bootstrap, prefix + COMMERCE_ORDERS, [maintenance.event(order, "O-BROKER-2")]
    )

    async def published() -> list[Any] | None:
        records = await read_all(bootstrap, prefix + MAINTENANCE_COVERAGE)
        types = [type(decode(r.headers, r.value).data) for r in records]
        return types if CoverageExtended in types else None

    types = await eventually(published)
    assert types.count(CoverageStarted) == 1 and types.count(CoverageExtended) == 1
    body = await maintenance.coverage(key)
    assert [p["source"] for p in body["periods"]] == ["complimentary", "renewal"]
