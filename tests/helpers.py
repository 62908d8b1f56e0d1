"""Small helpers the tests share."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from entitle_events import Event, new_event
from entitle_events.commerce import OrderPlaced

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T]], timeout: float = 30, interval: float = 0.1
) -> T:
    """Poll until `check` returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met in {timeout}s; last value: {last!r}")


def wait_until(check: Callable[[], T], timeout: float = 30, interval: float = 0.1) -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met in {timeout}s; last value: {last!r}")


def order_data(
    order_id: str | None = None, sku: str = "BP-SRV", quantity: int = 1
) -> dict[str, Any]:
    return {
        "order_id": order_id or f"O-{uuid.uuid4().hex[:12]}",
        "placed_at": datetime(2026, 11, 21, 10, 0, tzinfo=UTC).isoformat(),
        "currency": "EUR",
        "payment_mode": "annual",
        "buyer": {
            "account_id": "acme",
            "company": "ACME GmbH",
            "email": "it@acme.example",
            "reseller": False,
        },
        "end_customer": None,
        "lines": [
            {"line_id": "1", "sku": sku, "quantity": quantity, "unit_price": "199.00"},
        ],
    }


def order_event(order_id: str | None = None, **kw: Any) -> Event[OrderPlaced]:
    data = OrderPlaced.model_validate(order_data(order_id, **kw))
    return new_event(
        data,
        source="ingress",
        subject=data.order_id,
        time=datetime.now(UTC),
        correlationid=data.order_id,
    )


# The series operators watch (the Grafana dashboard plots each, the end-to-end test checks
# them after an order), by metric family name: counters without `_total`, histograms without
# `_bucket`/`_count`/`_sum`.
OPERATIONS_SERIES = (
    "entitle_events_consumed",
    "entitle_handler_seconds",
    "entitle_consumer_lag",
    "entitle_outbox_published",
    "entitle_outbox_backlog",
    "entitle_outbox_oldest_seconds",
    "entitle_outbox_parked",
    "entitle_dead_letters",
    "entitle_scheduler_runs",
    "entitle_emails",
    "entitle_http_requests",
    "entitle_http_request_seconds",
)
