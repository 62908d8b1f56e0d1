"""Orders and coverage events applied a fetch at a time (`Subscriptions.on_batch`) have the
effects and emit the events of the same events applied one by one, with a number of
statements that does not grow with the fetch."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from entitle_events import Event, EventData, decode, new_event
from entitle_events.commerce import OrderPlaced
from entitle_events.common import CoveragePeriod
from entitle_events.licensing import LicenseIssued, LicenseRenewed, OrderLineRejected
from entitle_events.maintenance import (
    CoverageEnded,
    CoverageExtended,
    CoverageStarted,
    CoverageWithdrawn,
)

from services.licensing.handlers.coverage import on_coverage_events
from services.licensing.handlers.orders import on_orders_placed
from services.runtime.context import Context
from tests.helpers import order_data
from tests.integration.counting import CountingConnection

from .conftest import NOW, Licensing

Apply = Callable[[Context, Sequence[Event[Any]]], Awaitable[None]]


async def applied(
    lic: Licensing,
    apply: Apply,
    runs: list[list[Event[Any]]],
    snapshot: Callable[[Any], Awaitable[Any]],
) -> tuple[Any, list[tuple[str, str, dict[str, Any], str | None]], int]:
    """Apply each run as one call, in one transaction that is then rolled back: the state
    `snapshot` reads, the events emitted (type, subject, data, correlation) and the number
    of statements."""
    async with lic.runtime.pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            counting = CountingConnection(conn)
            staged = []
            for run in runs:
                ctx = Context(counting, lic.clock, "licensing")  # type: ignore[arg-type]
                await apply(ctx, run)
                staged += ctx.staged
            statements = counting.statements
            state = await snapshot(conn)
        finally:
            await transaction.rollback()
    emitted = [decode(r.headers, r.value) for r in staged]
    return (
        state,
        [(e.type, e.subject, e.data.model_dump(mode="json"), e.correlationid) for e in emitted],
        statements,
    )


def _event(data: EventData, subject: str) -> Event[Any]:
    return new_event(data, source="test", subject=subject, time=NOW)


def placed(order_id: str, account: str, lines: list[dict[str, Any]], **fields: Any) -> Event[Any]:
    data = order_data(order_id=order_id)
    data["buyer"] = {**data["buyer"], "account_id": account, **fields.pop("buyer", {})}
    data["placed_at"] = NOW.isoformat()
    data.update(lines=lines, **fields)
    return _event(OrderPlaced.model_validate(data), order_id)


def line(line_id: str, sku: str, quantity: int = 1, **fields: Any) -> dict[str, Any]:
    return {"line_id": line_id, "sku": sku, "quantity": quantity, "unit_price": "9.00", **fields}


def issued_key(lic: Licensing, order_id: str, line_id: str, product: str, edition: str) -> str:
    """The key the first license of a line gets (ids and signatures are deterministic)."""
    license_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"entitle:{order_id}:{line_id}:0"))
    return lic.keys.issue(license_id, product, edition, NOW)


def licensing_state(accounts: list[str], orders: list[str]) -> Callable[[Any], Awaitable[Any]]:
    async def read(conn: Any) -> Any:
        tables = {
            "accounts": ("select * from accounts where account_id = any($1)", accounts),
            "order_lines": (
                "select * from order_lines where order_id = any($1) order by order_id, line_id",
                orders,
            ),
            "licenses": (
                "select * from licenses where order_id = any($1) order by license_id",
                orders,
            ),
        }
        return {
            name: [dict(r) for r in await conn.fetch(sql, ids)]
            for name, (sql, ids) in tables.items()
        }

    return read


def orders_apply(lic: Licensing) -> Apply:
    deps = lic.dependencies

    async def apply(ctx: Context, events: Sequence[Event[Any]]) -> None:
        await on_orders_placed(ctx, events, deps.catalog, deps.keys)

    return apply


async def test_a_fetch_of_orders_has_the_effects_and_events_of_its_orders_one_by_one(
    licensing: Licensing,
) -> None:
    tag = uuid.uuid4().hex[:8]
    a, b, reseller = f"a-{tag}", f"b-{tag}", f"r-{tag}"
    o = [f"O-{tag}-{n}" for n in range(8)]
    events = [
        # issues two licenses, rejects an unknown SKU, ignores a maintenance line
        placed(o[0], a, [line("1", "BP-SRV", 2), line("2", "NOPE"), line("3", "BP-CARE-12")]),
        # the account pays annually since the order before: a monthly order is refused
        placed(o[1], a, [line("1", "BP-DESK")], payment_mode="monthly"),
        # the first order again (a redelivery under another event id): nothing new
        placed(o[0], a, [line("1", "BP-SRV", 2), line("2", "NOPE")]),
        # a subscription, renewed by a later order of the same fetch
        placed(o[2], b, [line("1", "BP-MSP-M"), line("2", "BP-SITE", 2)]),
        placed(
            o[3],
            b,
            [
                line(
                    "1",
                    "BP-MSP-M",
                    2,
                    license_key=issued_key(licensing, o[2], "1", "backup-pro", "server"),
                ),
                line("2", "BP-SRV"),
            ],
        ),
        # an add-on on a license issued earlier in the fetch, and one on no license
        placed(
            o[4],
            a,
            [
                line(
                    "1",
                    "BP-EXCH",
                    license_key=issued_key(licensing, o[0], "1", "backup-pro", "server"),
                ),
                line("2", "BP-EXCH", license_key="not-a-key"),
            ],
        ),
        # a reseller's pool, then an end customer's licenses, after the look-ups
        placed(o[5], reseller, [line("1", "BP-DESK", 3)], buyer={"reseller": True}),
        placed(
            o[6],
            reseller,
            [line("1", "BP-SRV")],
            buyer={"reseller": True},
            end_customer={"account_id": b, "company": "B Ltd", "email": "it@b.example"},
        ),
        placed(o[7], a, [line("1", "BP-SRV")], buyer={"company": "A renamed"}),
    ]
    snapshot = licensing_state([a, b, reseller], o)
    apply = orders_apply(licensing)
    together = await applied(licensing, apply, [events], snapshot)
    one_by_one = await applied(licensing, apply, [[e] for e in events], snapshot)
    assert together[:2] == one_by_one[:2]
    state, emitted, _ = together
    assert {r["account_id"]: r["company"] for r in state["accounts"]}[a] == "A renamed"
    codes = [d["code"] for t, _, d, _ in emitted if t == OrderLineRejected.event_type]
    assert codes == ["UNKNOWN_SKU", "PAYMENT_MODE_LOCKED", "BASE_LICENSE_REQUIRED"]
    assert any(t == LicenseRenewed.event_type for t, _, _, _ in emitted)
    in_order = [d["licenses_in_order"] for t, _, d, _ in emitted if t == LicenseIssued.event_type]
    assert in_order == [2, 2, 2, 2, 1, 1, 3, 3, 3, 1, 1]
    assert len(state["licenses"]) == len(in_order)


async def test_orders_take_the_same_statements_however_many_there_are(
    licensing: Licensing,
) -> None:
    counts = []
    for size in (2, 20):
        tag = uuid.uuid4().hex[:8]
        events = [
            placed(
                f"O-{tag}-{n}",
                f"acct-{tag}-{n % 3}",
                [line("1", "BP-SRV", 2), line("2", "NOPE"), line("3", "BP-SITE")],
            )
            for n in range(size)
        ]
        _, emitted, statements = await applied(
            licensing, orders_apply(licensing), [events], licensing_state([], [])
        )
        assert len(emitted) == size * 4
        counts.append(statements)
    assert counts[0] == counts[1] == 3  # accounts, line claims, licenses


def coverage_events(licenses: list[str], order_id: str) -> list[Event[Any]]:
    """Started, extended, cut, extended again, withdrawn and ended twice, over a few
    licenses, interleaved."""
    one, two, three = licenses
    ref = {"product": "backup-pro", "account_id": "acme", "contact_email": "it@acme.example"}

    def period(start_days: int, end_days: int) -> CoveragePeriod:
        return CoveragePeriod(
            starts_at=NOW + timedelta(days=start_days),
            ends_at=NOW + timedelta(days=end_days),
            source="purchase",
        )

    def started(license_id: str, *periods: CoveragePeriod, ends: bool = True) -> EventData:
        return CoverageStarted(
            **ref,
            license_id=license_id,
            license_key=f"key-{license_id}",
            plan="backup-care-12",
            periods=list(periods),
            ends_at=periods[-1].ends_at if ends else None,
        )

    def extended(license_id: str, added: CoveragePeriod, ends: bool = True) -> EventData:
        return CoverageExtended(
            **ref,
            license_id=license_id,
            license_key=f"key-{license_id}",
            plan="backup-care-12",
            period=added,
            ends_at=added.ends_at if ends else None,
        )

    def ended(license_id: str, days: int) -> EventData:
        return CoverageEnded(
            **ref,
            license_id=license_id,
            license_key=f"key-{license_id}",
            ended_at=NOW + timedelta(days=days),
            reason="revoked",
        )

    def withdrawn(license_id: str, *periods: CoveragePeriod) -> EventData:
        return CoverageWithdrawn(
            **ref,
            license_id=license_id,
            license_key=f"key-{license_id}",
            order_id=order_id,
            periods=list(periods),
            ends_at=None,
        )

    data = [
        started(one, period(0, 90), ends=False),
        started(two, period(0, 90), period(90, 455)),
        extended(one, period(90, 455)),
        started(three, period(0, 90)),
        ended(one, 200),
        extended(one, period(455, 820)),  # after the cut: it stays
        withdrawn(two, period(90, 455)),
        extended(two, period(90, 455)),  # bought again
        extended(three, period(90, 455)),
        extended(three, period(90, 455)),  # delivered twice
        ended(three, 300),
        ended(three, 100),
        withdrawn(one, period(455, 820)),
    ]
    return [_event(d, str(d.license_id)) for d in data]


def coverage_state(licenses: list[str]) -> Callable[[Any], Awaitable[Any]]:
    async def read(conn: Any) -> Any:
        coverage = await conn.fetch(
            "select license_id, perpetual from coverage where license_id = any($1::uuid[])"
            " order by license_id",
            licenses,
        )
        periods = await conn.fetch(
            "select * from coverage_periods where license_id = any($1::uuid[])"
            " order by license_id, starts_at, ends_at",
            licenses,
        )
        return [dict(r) for r in coverage], [dict(r) for r in periods]

    return read


async def test_a_fetch_of_coverage_events_projects_what_they_project_one_by_one(
    licensing: Licensing,
) -> None:
    licenses = [str(uuid.uuid4()) for _ in range(3)]
    events = coverage_events(licenses, "O-coverage")
    snapshot = coverage_state(licenses)
    together = await applied(licensing, on_coverage_events, [events], snapshot)
    one_by_one = await applied(licensing, on_coverage_events, [[e] for e in events], snapshot)
    assert together[0] == one_by_one[0]
    coverage, periods = together[0]
    assert len(coverage) == 3 and periods  # it did project something
    assert together[1] == []  # a projection emits nothing


async def test_coverage_takes_the_same_statements_however_many_licenses(
    licensing: Licensing,
) -> None:
    counts = []
    for size in (1, 10):
        events = [
            e
            for _ in range(size)
            for e in coverage_events([str(uuid.uuid4()) for _ in range(3)], "O-count")
        ]
        _, _, statements = await applied(
            licensing, on_coverage_events, [events], coverage_state([])
        )
        counts.append(statements)
    assert counts[0] == counts[1]
