"""A row the broker refuses is parked after bounded attempts: later rows of its key wait,
every other key goes on, and `entitle outbox list|retry|drop` handles it (real broker and
PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
from entitle_cli.main import app
from entitle_events import encode
from entitle_events.kafka import header
from prometheus_client import REGISTRY
from typer.testing import CliRunner

from services.runtime.outbox import OutboxRecord, OutboxRelay, stage
from tests.helpers import eventually, order_event
from tests.infra import Infra

from .kafka_tools import read_all
from .outbox_tools import outbox

TOO_LARGE = b"x" * 2_000_000  # over the producer's 1 MB max_request_size


@dataclass
class Relay:
    pool: asyncpg.Pool
    database: str
    topic: str
    relay: OutboxRelay


@pytest.fixture
async def relay(infra: Infra) -> AsyncIterator[Relay]:
    async with outbox(infra, "park", partitions=2) as box:
        stop = asyncio.Event()
        relay = OutboxRelay(
            box.pool,
            box.producers[0],
            dsn=box.dsn,
            backoff_initial=0.05,
            backoff_max=0.1,
            max_attempts=3,
        )
        task = asyncio.create_task(relay.run(stop))
        try:
            yield Relay(box.pool, box.name, box.topic, relay)
        finally:
            stop.set()
            await task


def record(topic: str, key: bytes, value: bytes | None = None) -> OutboxRecord:
    _, good_value, headers = encode(order_event())
    return OutboxRecord(topic, key, value or good_value, headers)


async def published_ids(infra: Infra, topic: str) -> list[tuple[bytes, str | None]]:
    return [(r.key, header(r.headers, "ce_id")) for r in await read_all(infra.bootstrap, topic)]


def cli(infra: Infra, relay: Relay, *args: str) -> str:
    result = CliRunner().invoke(
        app,
        [*args, "--service", "licensing", "--database", relay.database],
        env={"ENTITLE_DATABASE_URL": infra.database_url, "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    return result.output


async def test_a_refused_row_is_parked_its_key_waits_and_other_keys_go_on(
    relay: Relay, infra: Infra
) -> None:
    refused = record(relay.topic, b"key-a", TOO_LARGE)
    behind = record(relay.topic, b"key-a")
    other = record(relay.topic, b"key-b")
    async with relay.pool.acquire() as conn, conn.transaction():
        refused_id, behind_id, _ = await stage(conn, [refused, behind, other])
    relay.relay.wake()

    async def parked() -> bool:
        return bool(
            await relay.pool.fetchval(
                "select parked_at is not null from outbox where id = $1", refused_id
            )
        )

    await eventually(parked, timeout=30)
    await eventually(lambda: _published(infra, relay.topic, other), timeout=30)
    await asyncio.sleep(0.5)  # the relay ran again meanwhile: the row behind must still wait
    on_topic = await published_ids(infra, relay.topic)
    assert (b"key-a", header(behind.headers, "ce_id")) not in on_topic
    assert await relay.pool.fetchval("select attempts from outbox where id = $1", refused_id) == 3
    assert await relay.pool.fetchval("select count(*) from outbox where id = $1", behind_id) == 1
    assert (
        REGISTRY.get_sample_value("entitle_outbox_rows_parked_total", {"topic": relay.topic}) == 1
    )

    listed = json.loads(await asyncio.to_thread(cli, infra, relay, "outbox", "list", "--json"))
    assert [(r["id"], r["key"], r["attempts"], r["waiting_behind"]) for r in listed] == [
        (refused_id, "key-a", 3, 1)
    ]
    assert "MessageSizeTooLargeError" in listed[0]["last_error"]

    # Retried, the row is refused again and parked again; dropped, the key goes on.
    await asyncio.to_thread(cli, infra, relay, "outbox", "retry")
    await eventually(parked, timeout=30)
    output = await asyncio.to_thread(cli, infra, relay, "outbox", "drop", str(refused_id))
    assert f"dropped 1 row(s): {refused_id}" in output
    await eventually(lambda: _published(infra, relay.topic, behind), timeout=30)
    assert await relay.pool.fetchval("select count(*) from outbox") == 0


async def _published(infra: Infra, topic: str, expected: OutboxRecord) -> bool:
    return (expected.key, header(expected.headers, "ce_id")) in await published_ids(infra, topic)
