"""Licenses issued and orders placed are applied a fetch at a time (`Subscriptions.on_batch`):
a list at once must leave what the same events one by one leave, with a number of
statements that does not grow with the list."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, cast

import pytest
from entitle_events import Event, EventData

from services.maintenance.handlers.licenses import on_licenses_issued
from services.maintenance.handlers.orders import on_orders_placed
from services.runtime.context import Context
from services.runtime.db import Connection
from tests.integration.counting import CountingConnection

from .conftest import Maintenance, at

Preset = Callable[[str], AbstractAsyncContextManager[Maintenance]]
CARE = {"plan": "care", "product": "backup-manager", "edition": "server", "sku": "BM-SRV"}
NO_PLAN = {**CARE, "plan": None}


@pytest.fixture
async def m(maintenance_for: Preset) -> AsyncIterator[Maintenance]:
    async with maintenance_for("backup-care.toml") as service:
        yield service


def shapes(emitted: Sequence[EventData]) -> list[dict[str, Any]]:
    """The emitted events without what differs between two runs of the same story: the
    license ids and keys, order ids and the random maintenance codes."""
    found = []
    for data in emitted:
        fields = data.model_dump(mode="json")
        for name in ("license_id", "license_key", "order_id"):
            fields.pop(name, None)
        if "codes" in fields:
            fields["codes"] = len(fields["codes"])
        found.append({"type": type(data).__name__, **fields})
    return found


async def covers(m: Maintenance, keys: Sequence[str]) -> list[dict[str, Any]]:
    views = [await m.coverage(key) for key in keys]
    return [
        {k: v for k, v in view.items() if k not in ("license_id", "license_key")} for view in views
    ]


async def emitted_by(m: Maintenance, apply: Callable[[], Any]) -> list[EventData]:
    first = len(m.emitted)
    await apply()
    return m.emitted[first:]


def license_story(m: Maintenance) -> list[Event[Any]]:
    """Mixed shapes: complimentary cover, none (v4 and no plan), and a second delivery of
    the first license under another event id."""
    v5 = m.license_event(at(2026, 11, 1), **CARE)
    return [
        v5,
        m.license_event(at(2026, 11, 1), major=4, **CARE),
        m.license_event(at(2026, 10, 1), **NO_PLAN),
        m.event(v5.data, v5.data.license_id),
        m.license_event(at(2026, 9, 1), **CARE),
    ]


async def test_licenses_issued_at_once_as_one_by_one(m: Maintenance) -> None:
    at_once, one_by_one = license_story(m), license_story(m)
    batch = await emitted_by(m, lambda: m.apply_all(on_licenses_issued, at_once, m.catalog))
    single: list[EventData] = []
    for event in one_by_one:
        single += await emitted_by(
            m, lambda e=event: m.apply_all(on_licenses_issued, [e], m.catalog)
        )

    assert shapes(batch) == shapes(single)
    assert [type(e).__name__ for e in batch] == ["CoverageStarted", "CoverageStarted"]
    keys = [e.data.license_key for e in at_once[:3] + at_once[4:]]
    same_keys = [e.data.license_key for e in one_by_one[:3] + one_by_one[4:]]
    assert await covers(m, keys) == await covers(m, same_keys)
    # a redelivery of the whole list changes nothing
    assert await emitted_by(m, lambda: m.apply_all(on_licenses_issued, at_once, m.catalog)) == []


async def order_story(m: Maintenance, unknown_key: str) -> tuple[list[Event[Any]], list[str]]:
    """Orders whose lines build on each other: a v4 license is refused a renewal, upgraded,
    then renewed; a v5 license is renewed in two orders (the second stacks on the first);
    codes are sold; an unknown key is refused; one order is delivered twice."""
    v4 = await m.issue(at(2026, 11, 1), major=4, **CARE)
    v5 = await m.issue(at(2026, 11, 1), **CARE)
    other = await m.issue(at(2026, 11, 1), **CARE)
    now = m.clock.now()
    renew_v4 = {"sku": "BM-CARE-12", "license_key": v4.license_key}
    renew_v5 = {"sku": "BM-CARE-12", "license_key": v5.license_key}
    upgraded = m.order_event(now, {"sku": "BM-UPG-SRV", "license_key": v4.license_key}, renew_v5)
    orders = [
        m.order_event(now, renew_v4),
        upgraded,
        m.order_event(now, renew_v4, renew_v5, {"sku": "BM-CARE-12", "quantity": 2}),
        m.event(upgraded.data, upgraded.data.order_id),
        m.order_event(
            now,
            {"sku": "BM-CARE-12", "license_key": unknown_key},
            {"sku": "BM-CARE-12", "license_key": other.license_key, "quantity": 2},
        ),
    ]
    return orders, [v4.license_key, v5.license_key, other.license_key]


async def outcomes(m: Maintenance, orders: Sequence[Event[Any]]) -> list[list[str]]:
    found = []
    for order in orders:
        rows = await m.runtime.pool.fetch(
            "select outcome from handled_order_lines where order_id = $1 order by line_id",
            order.data.order_id,
        )
        found.append([r["outcome"] for r in rows])
    return found


async def test_orders_placed_at_once_as_one_by_one(m: Maintenance) -> None:
    at_once, keys = await order_story(m, "BM-UNKNOWN-1")
    one_by_one, same_keys = await order_story(m, "BM-UNKNOWN-2")
    batch = await emitted_by(m, lambda: m.apply_all(on_orders_placed, at_once, m.catalog))
    single: list[EventData] = []
    for event in one_by_one:
        single += await emitted_by(m, lambda e=event: m.apply_all(on_orders_placed, [e], m.catalog))

    assert shapes(batch) == shapes(single)
    assert await covers(m, keys) == await covers(m, same_keys)
    assert await outcomes(m, at_once) == await outcomes(m, one_by_one)
    assert await outcomes(m, at_once) == [
        ["rejected:VERSION_TOO_OLD"],
        ["upgraded", "renewed"],
        ["renewed", "renewed", "codes:2"],
        ["upgraded", "renewed"],  # the same order again: handled once
        ["rejected:LICENSE_NOT_FOUND", "renewed"],
    ]
    v4, v5, other = await covers(m, keys)
    assert [p["source"] for p in v4["periods"]] == ["upgrade", "renewal"]
    assert [p["source"] for p in v5["periods"]] == ["complimentary", "renewal", "renewal"]
    assert v5["periods"][2]["starts_at"] == v5["periods"][1]["ends_at"]  # stacked
    assert [p["source"] for p in other["periods"]] == ["complimentary", "renewal", "renewal"]
    assert await emitted_by(m, lambda: m.apply_all(on_orders_placed, at_once, m.catalog)) == []


async def statements(
    m: Maintenance, handler: Callable[..., Any], events: Sequence[Event[Any]]
) -> int:
    async with m.runtime.pool.acquire() as conn, conn.transaction():
        counting = CountingConnection(conn)
        ctx = Context(cast(Connection, counting), m.clock, "maintenance")
        await handler(ctx, list(events), m.catalog)
        return counting.statements


async def test_licenses_issued_take_as_many_statements_for_one_as_for_many(
    m: Maintenance,
) -> None:
    def mix() -> list[Event[Any]]:
        return [
            m.license_event(at(2026, 11, 1), **CARE),
            m.license_event(at(2026, 11, 1), major=4, **CARE),
            m.license_event(at(2026, 11, 1), **NO_PLAN),
        ]

    few = await statements(m, on_licenses_issued, mix())
    many_events = [e for _ in range(8) for e in mix()]
    many = await statements(m, on_licenses_issued, many_events)
    assert few == many == 2
    assert (await m.coverage(many_events[-3].data.license_key))["periods"]


async def test_orders_placed_take_as_many_statements_for_one_as_for_many(
    m: Maintenance,
) -> None:
    async def mix() -> Event[Any]:
        renewed = await m.issue(at(2026, 11, 1), **CARE)
        upgraded = await m.issue(at(2026, 11, 1), major=4, **CARE)
        return m.order_event(
            m.clock.now(),
            {"sku": "BM-CARE-12", "license_key": renewed.license_key},
            {"sku": "BM-UPG-SRV", "license_key": upgraded.license_key},
            {"sku": "BM-CARE-12"},
        )

    few = await statements(m, on_orders_placed, [await mix()])
    orders = [await mix() for _ in range(6)]
    many = await statements(m, on_orders_placed, orders)
    assert few == many
    assert await outcomes(m, orders) == [["renewed", "upgraded", "codes:1"]] * 6
