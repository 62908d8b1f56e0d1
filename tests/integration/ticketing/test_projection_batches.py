"""The entitlement projection applies licensing's and maintenance's events a list at a time:
the same result as one by one, with a number of statements that does not grow with the
list, and open tickets still follow each change in order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from entitle_events import Event, EventData, licensing, maintenance, new_event
from entitle_events.common import CoveragePeriod

from services.runtime.context import Context
from services.runtime.db import Connection
from tests.integration.counting import CountingConnection

from .conftest import ADMIN, PRODUCT, TicketingService

CONTACT = "it@acme.example"


class Events:
    """License and coverage events of one namespace (its own licenses and accounts), so that
    the same story applied twice in one database can be compared."""

    def __init__(self, service: TicketingService, namespace: str) -> None:
        self.service = service
        self.namespace = namespace
        self.template = service.purchase_events("acme")[0].data

    def ref(self, n: int, account: str = "acme") -> dict[str, str]:
        return {
            "license_id": f"{self.namespace}-L{n}",
            "license_key": f"{self.namespace}-K{n}",
            "product": PRODUCT,
            "account_id": f"{self.namespace}-{account}",
        }

    def event(self, data: EventData) -> Event[Any]:
        now = self.service.clock.now()
        return new_event(data, source="test", subject=getattr(data, "license_id", "s"), time=now)

    def issued(self, n: int, **changes: Any) -> Event[Any]:
        return self.event(self.template.model_copy(update={**self.ref(n), **changes}))

    def status(self, kind: type[EventData], n: int, **fields: Any) -> Event[Any]:
        return self.event(kind(**self.ref(n), at=self.service.clock.now(), **fields))

    def licenses(self) -> list[Event[Any]]:
        now = self.service.clock.now()
        later, much_later = now + timedelta(days=400), now + timedelta(days=800)
        party = {"company": "ACME GmbH", "contact_email": CONTACT}
        return [
            self.issued(1),
            self.event(licensing.LicenseRenewed(**self.ref(1), expires_at=later, renewed_at=now)),
            self.status(licensing.LicenseSuspended, 1),
            self.status(licensing.LicenseReinstated, 1),
            self.event(licensing.LicenseExpired(**self.ref(1), expired_at=now)),
            self.event(
                licensing.LicenseRenewed(**self.ref(1), expires_at=much_later, renewed_at=now)
            ),
            self.status(licensing.LicenseRevoked, 2),  # before its issue: nothing to change yet
            self.issued(2),
            self.issued(2, license_key=f"{self.namespace}-other", edition="desktop"),
            self.event(
                licensing.LicenseAssigned(
                    **self.ref(2, "customer"),
                    reseller_account_id=f"{self.namespace}-acme",
                    assigned_at=now,
                    **party,
                )
            ),
            self.event(
                licensing.LicenseTransferred(
                    **self.ref(2, "buyer"),
                    from_account_id=f"{self.namespace}-customer",
                    order_id="O-2",
                    transferred_at=now,
                    **party,
                )
            ),
            self.issued(3, edition="workstation"),  # fills in the key projected without one
            self.issued(4),
            self.event(
                licensing.LicenseDeactivated(**self.ref(4), fingerprint="m-1", deactivated_at=now)
            ),
            self.status(licensing.LicenseSuspended, 4),
            self.event(licensing.LicenseDeactivated(**self.ref(4), deactivated_at=now)),
        ]

    def started(self, n: int, ends: Any, plan: str = "care") -> Event[Any]:
        now = self.service.clock.now()
        periods = [CoveragePeriod(starts_at=now, ends_at=ends, source="purchase")] if ends else []
        return self.event(
            maintenance.CoverageStarted(
                **self.ref(n), contact_email=CONTACT, plan=plan, periods=periods, ends_at=ends
            )
        )

    def extended(self, n: int, ends: Any) -> Event[Any]:
        period = CoveragePeriod(starts_at=self.service.clock.now(), ends_at=ends, source="renewal")
        return self.event(
            maintenance.CoverageExtended(
                **self.ref(n), contact_email=CONTACT, plan="care", period=period, ends_at=ends
            )
        )

    def withdrawn(self, n: int, ends: Any) -> Event[Any]:
        return self.event(
            maintenance.CoverageWithdrawn(
                **self.ref(n), contact_email=CONTACT, order_id="O-1", periods=[], ends_at=ends
            )
        )

    def covers(self) -> list[Event[Any]]:
        now = self.service.clock.now()
        year, two = now + timedelta(days=365), now + timedelta(days=730)
        lapsed = {"contact_email": CONTACT, "ended_at": now}
        return [
            self.started(1, year),
            self.extended(1, two),
            self.extended(1, year),  # never shortens
            self.withdrawn(1, year),
            self.event(maintenance.CoverageLapsed(**self.ref(5), **lapsed)),  # before its start
            self.started(5, None, plan="lifetime"),
            self.extended(5, two),
            self.withdrawn(6, year),  # no cover yet: nothing to withdraw
            self.started(6, year),
            self.withdrawn(6, None),
            self.started(7, year),
            self.event(
                maintenance.CoverageEnded(**self.ref(7), **lapsed, reason="license revoked")
            ),
        ]


async def _apply(service: TicketingService, events: Sequence[Event[Any]]) -> None:
    """Through the consumer's batch handler of these events, in one transaction."""
    handler = service.runtime.definition.subscriptions.batch_handlers[events[0].type]
    async with service.runtime.transaction() as ctx:
        await handler(ctx, events)


async def _projected(service: TicketingService, namespace: str) -> dict[str, list[Any]]:
    """The namespace's projected rows, named without their namespace."""
    found: dict[str, list[Any]] = {}
    for table in ("ent_licenses", "ent_coverage"):
        rows = await service.runtime.pool.fetch(
            f"select * from {table} where license_id like $1 order by license_id",
            namespace + "-%",
        )
        found[table] = [
            {k: v.replace(namespace, "~") if isinstance(v, str) else v for k, v in r.items()}
            for r in rows
        ]
    return found


async def _project_keyless_license(service: TicketingService, namespace: str) -> None:
    """A license projected before keys were, and a cover for the license moved later."""
    await service.runtime.pool.execute(
        "insert into ent_licenses (license_id, account_id, product, kind, purchased_at,"
        " updated_at) values ($1, $2, $3, 'perpetual', $4, $4)",
        f"{namespace}-L3",
        f"{namespace}-acme",
        PRODUCT,
        service.clock.now(),
    )
    events = Events(service, namespace)
    await _apply(service, [events.started(2, service.clock.now() + timedelta(days=30))])


async def test_a_list_of_license_and_coverage_events_projects_what_one_by_one_does(
    ticketing: TicketingService,
) -> None:
    for namespace in ("batch", "single"):
        await _project_keyless_license(ticketing, namespace)
    batch, single = Events(ticketing, "batch"), Events(ticketing, "single")
    await _apply(ticketing, batch.licenses())
    await _apply(ticketing, batch.covers())
    for event in [*single.licenses(), *single.covers()]:
        await _apply(ticketing, [event])

    projected = await _projected(ticketing, "batch")
    assert projected == await _projected(ticketing, "single")
    licenses = {r["license_id"]: r for r in projected["ent_licenses"]}
    assert [licenses[f"~-L{n}"]["status"] for n in (1, 2, 3, 4)] == [
        "active",  # renewed after it expired
        "active",  # its revocation came before its issue
        "active",
        "deactivated",
    ]
    assert licenses["~-L1"]["expires_at"] == ticketing.clock.now() + timedelta(days=800)
    assert (licenses["~-L2"]["license_key"], licenses["~-L2"]["account_id"]) == ("~-K2", "~-buyer")
    assert (licenses["~-L3"]["license_key"], licenses["~-L3"]["edition"]) == ("~-K3", "workstation")
    covers = {r["license_id"]: r for r in projected["ent_coverage"]}
    year = ticketing.clock.now() + timedelta(days=365)
    assert covers["~-L2"]["account_id"] == "~-buyer"  # the cover followed the license
    assert (covers["~-L1"]["covered"], covers["~-L1"]["ends_at"]) == (True, year)
    lifetime = covers["~-L5"]
    assert (lifetime["covered"], lifetime["perpetual"], lifetime["plan"]) == (True, False, "care")
    assert (covers["~-L6"]["covered"], covers["~-L6"]["ends_at"]) == (False, None)
    assert (covers["~-L7"]["covered"], covers["~-L7"]["ends_at"]) == (False, ticketing.clock.now())


async def _statements(service: TicketingService, events: Sequence[Event[Any]]) -> int:
    handler = service.runtime.definition.subscriptions.batch_handlers[events[0].type]
    async with service.runtime.pool.acquire() as conn, conn.transaction():
        counting = CountingConnection(conn)
        ctx = Context(cast(Connection, counting), service.clock, "ticketing")
        await handler(ctx, events)
        return counting.statements


async def test_the_statements_of_a_list_do_not_grow_with_its_length(
    ticketing: TicketingService,
) -> None:
    counts = []
    for namespace, licenses in (("few", 2), ("many", 40)):
        events = Events(ticketing, namespace)
        now = ticketing.clock.now()
        issued = []
        for n in range(licenses):
            issued += [
                events.issued(n),
                events.event(
                    licensing.LicenseRenewed(
                        **events.ref(n), expires_at=now + timedelta(days=9), renewed_at=now
                    )
                ),
                events.status(licensing.LicenseSuspended, n),
                events.event(
                    licensing.LicenseAssigned(
                        **events.ref(n, f"customer-{n}"),
                        reseller_account_id=f"{namespace}-acme",
                        company="ACME GmbH",
                        contact_email=CONTACT,
                        assigned_at=now,
                    )
                ),
            ]
        covers = [events.started(n, now + timedelta(days=n + 1)) for n in range(licenses)]
        counts.append((await _statements(ticketing, issued), await _statements(ticketing, covers)))
    few, many = counts
    assert few == many
    assert few[0] <= 4 and few[1] <= 3
    stored = await ticketing.runtime.pool.fetchval(
        "select count(*) from ent_licenses where license_id like 'many-%' and status = 'suspended'"
    )
    assert stored == 40


async def test_an_open_ticket_follows_each_change_of_a_list_in_order(
    ticketing: TicketingService,
) -> None:
    license_id = await ticketing.buy_license("acme", covered=False)
    opened = await ticketing.open()
    assert opened.status_code == 201, opened.text
    number = opened.json()["number"]
    assert opened.json()["tier"] == "basic"

    ref = {
        "license_id": license_id,
        "license_key": f"KEY-{license_id[:8]}",
        "product": PRODUCT,
        "account_id": "acme",
    }
    ends = ticketing.clock.now() + timedelta(days=365)
    period = CoveragePeriod(starts_at=ticketing.clock.now(), ends_at=ends, source="renewal")
    extended = maintenance.CoverageExtended(
        **ref, contact_email=CONTACT, plan="care", period=period, ends_at=ends
    )
    lapsed = maintenance.CoverageLapsed(
        **ref, contact_email=CONTACT, ended_at=ticketing.clock.now()
    )
    now = ticketing.clock.now()
    await _apply(
        ticketing,
        [
            new_event(data, source="test", subject=license_id, time=now)
            for data in (extended, lapsed)
        ],
    )

    detail = (await ticketing.client.get(f"/tickets/{number}", headers=ADMIN)).json()
    assert detail["tier"] == "basic"
    changes = [e["detail"] for e in detail["timeline"] if e["type"] == "tier_changed"]
    assert [(c["from"], c["to"]) for c in changes] == [("basic", "priority"), ("priority", "basic")]
    published = await ticketing.published("entitle.ticketing.ticket.tier-changed.v1")
    assert [(c["previous_tier"], c["tier"]) for c in published] == [
        ("basic", "priority"),
        ("priority", "basic"),
    ]


_MAJOR_RELEASE: dict[str, Any] = {
    "product": PRODUCT,
    "minor": 0,
    "patch": 0,
    "release_kind": "update",
}


def _release(major: int, at: datetime) -> Event[Any]:
    data = licensing.ReleasePublished(
        version=f"{major}.0.0", major=major, released_at=at, **_MAJOR_RELEASE
    )
    return new_event(data, source="test", subject=data.version, time=at)


async def test_a_list_of_releases_keeps_the_first_publication_of_each_version(
    ticketing: TicketingService,
) -> None:
    now = ticketing.clock.now()
    again = now + timedelta(days=1)
    releases = [_release(18, now), _release(19, now), _release(18, again)]
    assert await _statements(ticketing, releases) == 1
    assert await _statements(ticketing, [_release(20, now)]) == 1
    rows = await ticketing.runtime.pool.fetch(
        "select version, released_at from ent_releases order by version"
    )
    assert [(r["version"], r["released_at"]) for r in rows] == [
        ("18.0.0", now),
        ("19.0.0", now),
        ("20.0.0", now),
    ]
