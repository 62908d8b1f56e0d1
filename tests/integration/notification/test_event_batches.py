"""Events applied as a list (a consumer's fetch) record the same emails and digests as the
same events one at a time, with a number of statements that does not grow with the list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg
from entitle_events import Event, new_event
from entitle_events.common import CoveragePeriod, CoverageSource
from entitle_events.maintenance import CoverageStarted

from services.notification.handlers.events import on_customer_events
from services.policy.catalog import load_catalog
from services.runtime.context import Context
from services.runtime.db import Connection
from tests.integration.counting import CountingConnection

from .conftest import NOW, Notification, Start, issued, upgrade

ENDS = datetime(2027, 2, 21, 12, 0, tzinfo=UTC)


def covered(
    to: str, order: str, license_id: str, source: CoverageSource = "complimentary"
) -> Event[Any]:
    data = CoverageStarted(
        license_id=license_id, license_key=f"KEY-{license_id}", product="backup-pro",
        account_id="acme", contact_email=to, plan="backup-care-12", order_id=order, ends_at=ENDS,
        periods=[CoveragePeriod(starts_at=NOW, ends_at=ENDS, source=source)],
    )  # fmt: skip
    return new_event(data, source="maintenance", subject=license_id, time=NOW, correlationid=order)


def for_reseller(event: Event[Any]) -> Event[Any]:
    data = event.data.model_copy(
        update={"reseller_email": "sales@reseller.example", "reseller_account_id": "resell"}
    )
    return event.model_copy(update={"data": data})


def mixed_lists() -> tuple[list[Event[Any]], list[Event[Any]]]:
    """Two fetches: orders complete within one list or across both, coverage before its
    license, a second coverage and an extra license after an order's email, a reseller's
    copy, and mail that has nothing to do with digests."""
    to = "buyer@acme.example"
    first = [
        issued(to, order="O-A", license_id="lic-a2", of=2, covered=True),
        upgrade("offers@acme.example"),
        issued(to, order="O-A", license_id="lic-a1", of=2),
        covered(to, "O-B", "lic-b"),  # before its license
        covered(to, "O-A", "lic-a2"),  # completes O-A
        covered(to, "O-A", "lic-a2"),  # another event, after the email
        issued(to, order="O-B", license_id="lic-b", covered=True),  # completes O-B
        for_reseller(issued(to, order="O-C", license_id="lic-c")),
        issued(to, order="O-D", license_id="lic-d1", of=1),
        issued(to, order="O-D", license_id="lic-d2", of=1),  # beyond what the order issued
        issued(to, order="O-F", license_id="lic-f1", of=2),
        covered(to, "O-G", "lic-g", source="purchase"),  # bought later: its own email
    ]
    second = [
        issued(to, order="O-F", license_id="lic-f2", of=2),  # completes O-F, split
        issued(to, order="O-H", license_id="lic-h", covered=True),
        upgrade("other@acme.example"),
    ]
    return first, second


async def apply(notification: Notification, events: Sequence[Event[Any]]) -> None:
    async with notification.runtime.transaction() as ctx:
        await on_customer_events(ctx, events, load_catalog(), "test.example")


async def recorded(pool: asyncpg.Pool) -> dict[str, list[tuple[Any, ...]]]:
    queries = {
        "deliveries": "select id, event_id, event_type, correlation_id, account_id, template,"
        " recipient, transactional, subject, body_text, body_html, message_id, traceparent"
        " from deliveries order by id",
        "digests": "select order_id, recipient, expected, reseller_email, account_id,"
        " reseller_account_id, sent from license_digests order by order_id",
        "items": "select * from license_digest_items order by order_id, license_id",
    }
    return {name: [tuple(r) for r in await pool.fetch(sql)] for name, sql in queries.items()}


async def test_lists_of_events_record_what_the_events_one_at_a_time_record(
    start_notification: Start,
) -> None:
    first, second = mixed_lists()
    one_by_one, batched = await start_notification(), await start_notification()
    for event in [*first, *second]:
        await apply(one_by_one, [event])
    await apply(batched, first)
    await apply(batched, second)
    expected = await recorded(one_by_one.runtime.pool)
    assert await recorded(batched.runtime.pool) == expected
    # (template, the type of the event it was sent for, its order, to whom)
    emailed = {(d[5], d[2].split(".")[3], d[3], d[6]) for d in expected["deliveries"]}
    assert emailed == {
        ("upgrade_available", "available", None, "offers@acme.example"),
        ("upgrade_available", "available", None, "other@acme.example"),
        ("license_delivered", "started", "O-A", "buyer@acme.example"),
        ("license_delivered", "issued", "O-B", "buyer@acme.example"),
        ("license_delivered", "issued", "O-C", "buyer@acme.example"),
        ("license_delivered", "issued", "O-C", "sales@reseller.example"),
        ("license_delivered", "issued", "O-D", "buyer@acme.example"),
        ("coverage_started", "started", "O-G", "buyer@acme.example"),
        ("license_delivered", "issued", "O-F", "buyer@acme.example"),
    }
    bodies = {d[3]: d[9] for d in expected["deliveries"] if d[5] == "license_delivered"}
    assert "KEY-lic-a1" in bodies["O-A"] and "KEY-lic-a2" in bodies["O-A"]
    assert "21 February 2027" in bodies["O-A"]
    assert "KEY-lic-d1" in bodies["O-D"] and "KEY-lic-d2" not in bodies["O-D"]
    # The same fetch again (redelivered past the inbox) changes nothing.
    await apply(batched, second)
    assert await recorded(batched.runtime.pool) == expected


def orders(count: int, tag: str) -> tuple[list[Event[Any]], list[Event[Any]]]:
    """What licensing and then maintenance tell of `count` one-license orders."""
    licenses = [(f"{tag}-{i}", f"{tag}-lic-{i}") for i in range(count)]
    to = "buyer@acme.example"
    return (
        [issued(to, order=o, license_id=lic, covered=True) for o, lic in licenses],
        [covered(to, o, lic) for o, lic in licenses],
    )


async def counted(notification: Notification, events: Sequence[Event[Any]]) -> int:
    runtime = notification.runtime
    async with runtime.pool.acquire() as conn, conn.transaction():
        counting = CountingConnection(conn)
        ctx = Context(cast(Connection, counting), runtime.clock, runtime.name)
        await on_customer_events(ctx, events, load_catalog(), "test.example")
    return counting.statements


async def test_a_list_costs_the_same_statements_whatever_its_length(
    notification: Notification,
) -> None:
    few_issued, few_covered = orders(2, "few")
    many_issued, many_covered = orders(40, "many")
    # license.issued: the digests are locked, read and written; coverage.started also
    # lists the completed orders' licenses and records their emails.
    assert await counted(notification, few_issued) == 3
    assert await counted(notification, many_issued) == 3
    assert await counted(notification, few_covered) == 5
    assert await counted(notification, many_covered) == 5
    sent = await notification.runtime.pool.fetchval(
        "select count(*) from license_digests where sent"
    )
    assert sent == 42
    assert await counted(notification, [upgrade(f"u{i}@acme.example") for i in range(30)]) == 1
