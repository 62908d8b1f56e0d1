"""Transactional outbox and its relay (DESIGN §3)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from entitle_events import Event, encode

from . import metrics
from .db import Connection
from .errors import is_transient

log = logging.getLogger(__name__)

# Only one relay of a service publishes at a time, so events of one key leave in the order
# they were written even with several copies running; the others stand by. Rows are still
# claimed FOR UPDATE SKIP LOCKED so that a copy never waits on another's batch.
_RELAY_LOCK = 0x6F7574626F78
CHANNEL = "entitle_outbox"


@dataclass(frozen=True)
class OutboxRecord:
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)

    @classmethod
    def of(cls, event: Event[Any]) -> OutboxRecord:
        key, value, headers = encode(event)
        return cls(event.data.topic, key, value, headers)


async def stage(conn: Connection, records: Sequence[OutboxRecord]) -> list[int]:
    """Write records in the caller's transaction; return their outbox ids."""
    if not records:
        return []
    rows = await conn.fetch(
        "insert into outbox (topic, key, value, headers)"
        " select * from unnest($1::text[], $2::bytea[], $3::bytea[], $4::jsonb[])"
        " returning id",
        [r.topic for r in records],
        [r.key for r in records],
        [r.value for r in records],
        [pack_headers(r.headers) for r in records],
    )
    return [r["id"] for r in rows]


def pack_headers(headers: Sequence[tuple[str, bytes]]) -> str:
    """Kafka header values are bytes; they are kept as base64 in a jsonb column."""
    return json.dumps([[name, base64.b64encode(value).decode()] for name, value in headers])


def unpack_headers(packed: str) -> list[tuple[str, bytes]]:
    return [(name, base64.b64decode(value)) for name, value in json.loads(packed)]


class OutboxRelay:
    """Publishes committed outbox rows (acks=all), then deletes them, in one transaction."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        *,
        dsn: str,
        topic_prefix: str = "",
        batch_max: int = 500,
        poll_interval: float = 1.0,
        backoff_max: float = 30.0,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._dsn = dsn
        self._prefix = topic_prefix
        self._batch_max = batch_max
        self._poll_interval = poll_interval
        self._backoff_max = backoff_max
        self._wake = asyncio.Event()
        self._published = asyncio.Condition()
        self._last_published: set[int] = set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        listener = asyncio.create_task(self._listen(stop))
        failures = 0
        try:
            while not stop.is_set():
                self._wake.clear()  # before the batch: a wake-up during it is not lost
                try:
                    count = await self.publish_batch()
                    failures = 0
                except Exception as exc:
                    failures += 1
                    delay = min(self._backoff_max, 0.2 * 2 ** min(failures, 10))
                    log.warning("outbox relay failed (%s); retrying in %.1fs", exc, delay)
                    metrics.OUTBOX_FAILURES.inc()
                    await _sleep_or_stop(stop, delay)
                    continue
                if count < self._batch_max:
                    waiter = asyncio.create_task(self._wake.wait())
                    stopper = asyncio.create_task(stop.wait())
                    await asyncio.wait(
                        {waiter, stopper},
                        timeout=self._poll_interval,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    waiter.cancel()
                    stopper.cancel()
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    async def publish_batch(self) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("select pg_try_advisory_xact_lock($1)", _RELAY_LOCK):
                return 0
            rows = await conn.fetch(
                "select id, topic, key, value, headers,"
                " extract(epoch from clock_timestamp() - created_at)::float8 as age"
                " from outbox order by id limit $1 for update skip locked",
                self._batch_max,
            )
            if not rows:
                metrics.OUTBOX_BACKLOG.set(0)
                metrics.OUTBOX_AGE.set(0)
                return 0
            metrics.OUTBOX_AGE.set(max(0.0, rows[0]["age"]))
            # A full batch means more are waiting: count them (only then, it costs a scan).
            backlog = len(rows)
            if backlog == self._batch_max:
                backlog = await conn.fetchval("select count(*) from outbox")
            metrics.OUTBOX_BACKLOG.set(backlog)
            futures = []
            for row in rows:
                futures.append(
                    await self._producer.send(
                        self._prefix + row["topic"],
                        value=row["value"],
                        key=row["key"],
                        headers=unpack_headers(row["headers"]),
                    )
                )
            await asyncio.gather(*futures)
            ids = [row["id"] for row in rows]
            await conn.execute("delete from outbox where id = any($1::bigint[])", ids)
        metrics.OUTBOX_PUBLISHED.inc(len(rows))
        async with self._published:
            self._last_published = set(ids)
            self._published.notify_all()
        return len(rows)

    async def wait_published(self, outbox_id: int, timeout: float) -> bool:
        """Wait until the row has left the outbox (published by this or another copy)."""
        self.wake()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            async with self._published:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._published.wait(), timeout=0.05)
                if outbox_id in self._last_published:
                    return True
            async with self._pool.acquire() as conn:
                pending = await conn.fetchval("select 1 from outbox where id = $1", outbox_id)
            if not pending:
                return True
            if loop.time() >= deadline:
                return False

    async def _listen(self, stop: asyncio.Event) -> None:
        """LISTEN is only a wake-up signal; the poll interval is the fallback."""
        while not stop.is_set():
            conn: Connection | None = None
            try:
                conn = await asyncpg.connect(self._dsn, timeout=10)
                await conn.add_listener(CHANNEL, lambda *_: self._wake.set())
                while not stop.is_set() and not conn.is_closed():
                    await _sleep_or_stop(stop, 1.0)
            except Exception as exc:
                if not is_transient(exc):
                    log.exception("outbox listener failed")
                await _sleep_or_stop(stop, 1.0)
            finally:
                if conn is not None and not conn.is_closed():
                    await conn.close()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
