"""`entitle replay`: rebuilding ticketing's entitlement projection from its topics, with the
service's own consumer running, on the real broker and database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from entitle_cli.broker_commands import _topic_state
from entitle_cli.main import app
from entitle_events import new_event
from entitle_events.licensing import LicenseRevoked, LicenseSuspended
from entitle_events.topics import LICENSING_LICENSES, MAINTENANCE_COVERAGE
from typer.testing import CliRunner, Result

from services.ticketing.handlers.entitlement import review_due
from tests.helpers import eventually
from tests.integration.kafka_tools import produce_events

from .conftest import ADMIN, CATALOG, TicketingService

SNAPSHOT = {
    "ent_licenses": "select license_id, account_id, product, kind, status, expires_at"
    " from ent_licenses order by license_id",
    "ent_coverage": "select license_id, account_id, covered, ends_at, perpetual"
    " from ent_coverage order by license_id",
}


async def snapshot(service: TicketingService) -> dict[str, list[dict[str, Any]]]:
    return {
        table: [dict(r) for r in await service.runtime.pool.fetch(query)]
        for table, query in SNAPSHOT.items()
    }


async def replay(service: TicketingService, *args: str) -> Result:
    s = service.runtime.settings
    env = {
        "ENTITLE_DATABASE_URL": s.database_url,
        "ENTITLE_DATABASE_NAME": s.database_name,
        "ENTITLE_KAFKA_BOOTSTRAP": s.kafka_bootstrap,
        "ENTITLE_KAFKA_TOPIC_PREFIX": s.kafka_topic_prefix,
        "ENTITLE_CATALOG_PATH": str(CATALOG),
        "COLUMNS": "200",
    }
    return await asyncio.to_thread(CliRunner().invoke, app, ["replay", "ticketing", *args], env=env)


async def publish_purchases(service: TicketingService) -> list[str]:
    prefix = service.runtime.settings.kafka_topic_prefix
    purchases = [service.purchase_events(account) for account in ("acme", "globex", "initech")]
    await produce_events(
        service.bootstrap, prefix + LICENSING_LICENSES, [issued for issued, _ in purchases]
    )
    await produce_events(
        service.bootstrap, prefix + MAINTENANCE_COVERAGE, [started for _, started in purchases]
    )
    first = purchases[0][0].data
    suspended = LicenseSuspended(
        license_id=first.license_id,
        license_key=first.license_key,
        product=first.product,
        account_id=first.account_id,
        at=service.clock.now(),
    )
    await produce_events(
        service.bootstrap,
        prefix + LICENSING_LICENSES,
        [
            new_event(
                suspended, source="licensing", subject=first.license_id, time=service.clock.now()
            )
        ],
    )
    return [issued.data.license_id for issued, _ in purchases]


async def test_a_damaged_projection_is_rebuilt_and_rebuilding_twice_changes_nothing(
    ticketing: TicketingService,
) -> None:
    license_ids = await publish_purchases(ticketing)

    async def projected() -> dict[str, list[dict[str, Any]]] | None:
        found = await snapshot(ticketing)
        statuses = {r["status"] for r in found["ent_licenses"]}
        complete = len(found["ent_coverage"]) == 3 and "suspended" in statuses
        return found if complete else None

    built = await eventually(projected)
    pool = ticketing.runtime.pool
    await pool.execute("delete from ent_coverage")
    await pool.execute("update ent_licenses set status = 'revoked'")

    rebuilt = await replay(ticketing, "entitlement", "--reset")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "applied entitle.licensing.license.issued.v1" in rebuilt.output
    assert await snapshot(ticketing) == built

    again = await replay(ticketing, "entitlement")
    assert again.exit_code == 0, again.output
    assert await snapshot(ticketing) == built
    assert await pool.fetchval("select count(*) from outbox") == 0  # a rebuild emits nothing

    # The service's consumer goes on with what comes next.
    first = built["ent_licenses"][0]
    revoked = LicenseRevoked(
        license_id=first["license_id"],
        license_key="k",
        product=first["product"],
        account_id=first["account_id"],
        at=ticketing.clock.now(),
    )
    prefix = ticketing.runtime.settings.kafka_topic_prefix
    await produce_events(
        ticketing.bootstrap,
        prefix + LICENSING_LICENSES,
        [
            new_event(
                revoked, source="licensing", subject=first["license_id"], time=ticketing.clock.now()
            )
        ],
    )

    async def revoked_applied() -> bool:
        status = await pool.fetchval(
            "select status from ent_licenses where license_id = $1", first["license_id"]
        )
        return bool(status == "revoked")

    await eventually(revoked_applied)
    assert sorted(license_ids) == sorted(r["license_id"] for r in built["ent_licenses"])

    # The consumer group has caught up: no lag left on the license topic.
    group = ticketing.runtime.settings.consumer_group

    async def caught_up() -> bool:
        state = await _topic_state(
            {"bootstrap_servers": ticketing.bootstrap}, prefix, {LICENSING_LICENSES: [group]}
        )
        return state[LICENSING_LICENSES][2] == {group: 0}

    await eventually(caught_up)


async def test_replay_refuses_what_it_cannot_do_and_changes_nothing(
    ticketing: TicketingService,
) -> None:
    await publish_purchases(ticketing)

    async def projected() -> dict[str, list[dict[str, Any]]] | None:
        found = await snapshot(ticketing)
        return found if len(found["ent_coverage"]) == 3 else None

    before = await eventually(projected)
    listed = await replay(ticketing)
    assert listed.exit_code == 0 and "entitlement" in listed.output
    unknown = await replay(ticketing, "tickets")
    assert unknown.exit_code == 2 and "entitlement" in unknown.output
    partial_reset = await replay(ticketing, "entitlement", "--reset", "--from-offset", "2")
    assert partial_reset.exit_code == 1
    assert "from the beginning only" in partial_reset.output
    naive_time = await replay(ticketing, "entitlement", "--from-time", "2026-11-01T00:00:00")
    assert naive_time.exit_code == 2
    assert await snapshot(ticketing) == before


async def test_a_rebuild_with_open_tickets_changes_no_tier_midway_and_reviews_them_after(
    ticketing: TicketingService,
) -> None:
    await publish_purchases(ticketing)

    async def covered() -> bool:
        return bool(await ticketing.runtime.pool.fetchval("select count(*) from ent_coverage") == 3)

    await eventually(covered)
    opened = await ticketing.open(account="globex")
    assert opened.json()["tier"] == "priority"
    pool = ticketing.runtime.pool
    await pool.execute("delete from ent_coverage")  # damaged: the ticket's cover is gone

    rebuilt = await replay(ticketing, "entitlement", "--reset")
    # Replaying the purchase from the start passes through "no cover yet": no tier changes
    # midway, no events; every open ticket is due for a review instead.
    assert rebuilt.exit_code == 0, rebuilt.output
    due = await pool.fetchval("select reevaluate_at from tickets")
    assert due is not None and due <= datetime.now(UTC)  # the command's clock: the real one
    ticketing.clock.set(datetime.now(UTC))
    await eventually(lambda: _outbox_empty(ticketing))
    assert await review_due(ticketing.runtime, ticketing.cfg) == 1
    detail = (
        await ticketing.client.get(f"/tickets/{opened.json()['number']}", headers=ADMIN)
    ).json()
    assert detail["tier"] == "priority"
    assert not [e for e in detail["timeline"] if e["type"] == "tier_changed"]


async def _outbox_empty(service: TicketingService) -> bool:
    return bool(await service.runtime.pool.fetchval("select count(*) from outbox") == 0)
