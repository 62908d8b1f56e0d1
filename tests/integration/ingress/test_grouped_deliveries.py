"""Deliveries stored together in one transaction get exactly the outcomes, and leave exactly
the rows, that they would have one after another (hypothesis, on the real database)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from entitle_cli.webhook_client import sample_order
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingress.bootstrap import build
from services.ingress.domain.order_body import parse_order
from services.ingress.handlers.receive_order import (
    Delivery,
    Stored,
    delivery,
    store_deliveries,
)
from services.ingress.settings import IngressSettings
from services.runtime.errors import Refused
from services.runtime.service import Runtime
from tests.conftest import settings_for
from tests.infra import Infra


@pytest.fixture(scope="module")
async def ingress(infra: Infra) -> AsyncIterator[Runtime]:
    runtime = Runtime(build(settings_for(infra, IngressSettings)))
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


# (webhook id, order id, which of two bodies): few of each, so that deliveries collide.
arrivals = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 1)), min_size=1, max_size=12
)


CURRENCIES = ("EUR", "USD")


def deliveries(run: str, arrived: list[tuple[int, int, int]]) -> list[Delivery]:
    made = []
    for webhook, order, body in arrived:
        fields = sample_order(order_id=f"{run}-o{order}")
        fields.update(placed_at="2026-11-30T10:00:00+00:00", currency=CURRENCIES[body])
        made.append(delivery(f"{run}-w{webhook}", parse_order(json.dumps(fields).encode()), None))
    return made


async def one_after_another(runtime: Runtime, group: list[Delivery]) -> list[Stored | Exception]:
    outcomes: list[Stored | Exception] = []
    for d in group:
        outcomes.extend(await store_deliveries(runtime, [d]))
    return outcomes


def seen(run: str, outcomes: list[Stored | Exception]) -> list[tuple[str, ...]]:
    """Outcomes without the run's prefix: (order, duplicate) or (refusal code,)."""
    shown: list[tuple[str, ...]] = []
    for outcome in outcomes:
        if isinstance(outcome, Refused):
            shown.append((outcome.code,))
        else:
            assert isinstance(outcome, Stored), outcome
            shown.append((outcome.order.order_id.removeprefix(run), str(outcome.duplicate)))
    return shown


async def rows(runtime: Runtime, run: str) -> dict[str, Any]:
    orders = await runtime.pool.fetch(
        "select order_id, body_sha256 from orders where order_id like $1 || '-%'", run
    )
    every_body = [(0, order, body) for order in range(3) for body in range(2)]
    currency = {
        d.body_sha256: CURRENCIES[body]
        for d, (_, _, body) in zip(deliveries(run, every_body), every_body, strict=True)
    }
    receipts = await runtime.pool.fetch(
        "select webhook_id, order_id from webhook_receipts where webhook_id like $1 || '-%'", run
    )
    return {
        # Each stored order with which of the two bodies it was stored with.
        "orders": sorted(
            (r["order_id"].removeprefix(run), currency[r["body_sha256"]]) for r in orders
        ),
        "receipts": sorted(
            (r["webhook_id"].removeprefix(run), r["order_id"].removeprefix(run)) for r in receipts
        ),
    }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(arrivals, arrivals)
async def test_a_group_stores_what_its_deliveries_would_store_one_after_another(
    ingress: Runtime, before: list[tuple[int, int, int]], arrived: list[tuple[int, int, int]]
) -> None:
    grouped, serial = f"g{uuid.uuid4().hex[:8]}", f"s{uuid.uuid4().hex[:8]}"
    # What was stored earlier, the same for both runs.
    await one_after_another(ingress, deliveries(grouped, before))
    await one_after_another(ingress, deliveries(serial, before))

    together = await store_deliveries(ingress, deliveries(grouped, arrived))
    apart = await one_after_another(ingress, deliveries(serial, arrived))

    assert seen(grouped, list(together)) == seen(serial, apart)
    assert await rows(ingress, grouped) == await rows(ingress, serial)


async def test_concurrent_groups_of_overlapping_deliveries_store_each_order_once(
    ingress: Runtime,
) -> None:
    """Groups that share webhook and order ids, committed concurrently (as by several
    worker processes), wait for each other's locks instead of storing an order twice."""
    run = f"c{uuid.uuid4().hex[:8]}"
    arrived = [(w, o, 0) for w in range(6) for o in range(3)]
    groups = [deliveries(run, arrived[i::4]) for i in range(4)]
    outcomes = await asyncio.gather(*(store_deliveries(ingress, g) for g in groups))
    accepted = [o for group in outcomes for o in group if isinstance(o, Stored)]
    assert sorted(o.order.order_id for o in accepted if not o.duplicate) == [
        f"{run}-o{n}" for n in range(3)
    ]
    stored = await rows(ingress, run)
    assert len(stored["orders"]) == 3
    # Each webhook id belongs to the one order it first brought.
    webhooks = [w for w, _ in stored["receipts"]]
    assert sorted(webhooks) == sorted(set(webhooks)) == [f"-w{n}" for n in range(6)]
