"""The directory applies a fetch's events as one list: the same rows as one by one, with
one statement whatever the list's length."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from entitle_events import Event, new_event
from entitle_events.commerce import OrderPlaced
from entitle_events.licensing import LicenseTransferred

from services.portal.handlers.directory import on_directory_events
from services.runtime.clock import SystemClock
from services.runtime.context import Context
from services.runtime.db import Connection
from services.runtime.service import Runtime
from tests.helpers import order_data
from tests.integration.counting import CountingConnection

START = datetime(2026, 11, 1, 9, tzinfo=UTC)


def order(
    tag: str, n: int, email: str, company: str, reseller: bool, end: str | None
) -> Event[Any]:
    data = order_data(f"O-{tag}-{n}")
    data["buyer"] = {
        "account_id": f"{tag}-a",
        "company": company,
        "email": email,
        "reseller": reseller,
    }
    if end is not None:
        data["end_customer"] = {"account_id": f"{tag}-b", "company": "End Ltd", "email": end}
    return new_event(
        OrderPlaced.model_validate(data),
        source="test",
        subject=data["order_id"],
        time=START + timedelta(hours=n),
    )


def transfer(tag: str, n: int, email: str, company: str) -> Event[Any]:
    data = LicenseTransferred(
        license_id=str(uuid.uuid4()),
        license_key="K",
        product="backup-pro",
        account_id=f"{tag}-a",
        from_account_id=f"{tag}-b",
        company=company,
        contact_email=email,
        order_id=f"T-{tag}-{n}",
        transferred_at=START,
    )
    return new_event(data, source="test", subject=data.license_id, time=START + timedelta(hours=n))


def history(tag: str) -> list[Event[Any]]:
    """One address in several spellings and companies, a reseller flag that must stick, a
    sighting older than the latest, and an end customer."""
    return [
        order(tag, 3, "Ann@Example.com", "Ann GmbH", True, "it@end.example"),
        order(tag, 1, "ann@example.com", "Ann AG", False, None),  # older, not a reseller
        transfer(tag, 5, "ANN@example.com", "Ann & Co"),
        order(tag, 2, "bob@example.com", "Bob Ltd", False, None),
    ]


async def rows(portal: Runtime, tag: str) -> list[tuple[Any, ...]]:
    found = await portal.pool.fetch(
        "select email, replace(account_id, $1, ''), company, reseller, seen_at from directory"
        " where account_id like $1 || '-%' order by email, account_id",
        tag,
    )
    return [tuple(r) for r in found]


async def apply(portal: Runtime, events: Sequence[Event[Any]]) -> int:
    async with portal.pool.acquire() as conn, conn.transaction():
        counting = CountingConnection(conn)
        await on_directory_events(
            Context(cast(Connection, counting), SystemClock(), "portal"), events
        )
        return counting.statements


async def test_a_list_leaves_the_directory_as_its_events_one_by_one(portal: Runtime) -> None:
    await apply(portal, history("batch"))
    for event in history("single"):
        await apply(portal, [event])
    together, apart = await rows(portal, "batch"), await rows(portal, "single")
    assert together == apart
    ann = [r for r in together if r[0] == "ann@example.com"]
    assert ann == [("ann@example.com", "-a", "Ann & Co", True, START + timedelta(hours=5))]
    assert len(together) == 3  # ann and bob for the buyer, the end customer for its account


async def test_a_list_costs_one_statement_whatever_its_length(portal: Runtime) -> None:
    assert await apply(portal, history("short")[:1]) == 1
    long = [e for i in range(10) for e in history(f"long{i}")]
    assert await apply(portal, long) == 1
