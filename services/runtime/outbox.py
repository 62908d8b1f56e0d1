"""Transactional outbox and its relay."""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidTopicError,
    KafkaError,
    MessageSizeTooLargeError,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
)
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

# Due rows in id order, except those behind an earlier row of the same key that is parked or
# waiting for its next attempt (keys are per topic; a record without a key has no order).
_DUE_ROWS = (
    "select id, topic, key, value, headers,"
    " extract(epoch from clock_timestamp() - created_at)::float8 as age"
    " from outbox o where o.parked_at is null and o.next_attempt_at <= clock_timestamp()"
    " and not exists (select 1 from outbox b where b.attempts > 0 and b.topic = o.topic"
    "   and b.key = o.key and b.id < o.id"
    "   and (b.parked_at is not null or b.next_attempt_at > clock_timestamp()))"
    " order by id limit $1 for update skip locked"
)
# Failures that belong to the record, whatever the broker's health.
_ROW_ERRORS = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    InvalidTopicError,
    TopicAuthorizationFailedError,
)


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
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        max_attempts: int = 10,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._dsn = dsn
        self._prefix = topic_prefix
        self._batch_max = batch_max
        self._poll_interval = poll_interval
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._max_attempts = max_attempts
        self._wake = asyncio.Event()
        # The rows of the last few batches: a waiter or a wake-up naming one is served.
        self._recently_published: collections.deque[set[int]] = collections.deque(maxlen=8)
        self._waiters: dict[int, list[asyncio.Future[None]]] = {}
        """Outbox id -> the requests waiting for it to reach the broker."""
        self._checker: asyncio.Task[None] | None = None
        self._parked_counted_at = -1e9

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
        """Publish the due rows; return how many were published. A row whose own publish
        fails (too large, no such topic) is retried with backoff and parked after
        `max_attempts`; while it waits, later rows of its key wait too (per-key order), and
        every other row goes on. A failure of the broker itself fails the whole batch."""
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("select pg_try_advisory_xact_lock($1)", _RELAY_LOCK):
                return 0
            rows = await conn.fetch(_DUE_ROWS, self._batch_max)
            await self._observe_backlog(conn, rows)
            if not rows:
                return 0
            published, failed = await self._send(rows)
            if not published and failed and not await self._broker_answers(failed):
                raise failed[0][1]  # the broker, not the rows: back off, count no attempt
            ids = [row["id"] for row in published]
            # The broker has them: their waiters are answered now, not after the delete's
            # commit (a failed delete publishes them again, which consumers' inboxes absorb).
            self._recently_published.append(set(ids))
            self._answer(ids)
            if failed:
                await self._record_failures(conn, failed)
            await conn.execute("delete from outbox where id = any($1::bigint[])", ids)
        metrics.OUTBOX_PUBLISHED.inc(len(ids))
        return len(ids)

    async def _observe_backlog(self, conn: Connection, rows: Sequence[asyncpg.Record]) -> None:
        metrics.OUTBOX_AGE.set(max(0.0, rows[0]["age"]) if rows else 0)
        # A full batch means more are waiting: count them (only then, it costs a scan).
        backlog = len(rows)
        if backlog == self._batch_max:
            backlog = await conn.fetchval("select count(*) from outbox where parked_at is null")
        metrics.OUTBOX_BACKLOG.set(backlog)
        now = time.monotonic()
        if now >= self._parked_counted_at + 5:  # the gauge need not cost a query per batch
            self._parked_counted_at = now
            parked = await conn.fetchval(
                "select count(*) from outbox where attempts > 0 and parked_at is not null"
            )
            metrics.OUTBOX_PARKED.set(parked)

    async def _send(
        self, rows: Sequence[asyncpg.Record]
    ) -> tuple[list[asyncpg.Record], list[tuple[asyncpg.Record, Exception]]]:
        """Send every row, in id order; after a row of a key fails, the later rows of that key
        in this batch are not sent (they wait for the next batch)."""
        sent: list[tuple[asyncpg.Record, asyncio.Future[Any]]] = []
        failed: list[tuple[asyncpg.Record, Exception]] = []
        blocked: set[tuple[str, bytes]] = set()
        missing_topics: set[str] = set()
        for row in rows:
            key = (row["topic"], row["key"])
            if key in blocked or row["topic"] in missing_topics:
                continue
            try:
                future = await self._producer.send(
                    self._prefix + row["topic"],
                    value=row["value"],
                    key=row["key"],
                    headers=unpack_headers(row["headers"]),
                )
            except KafkaError as exc:
                failed.append((row, exc))
                if row["key"] is not None:
                    blocked.add(key)
                if isinstance(exc, UnknownTopicOrPartitionError):
                    # Each try waited for the topic's metadata: one try per batch and topic.
                    missing_topics.add(row["topic"])
                continue
            sent.append((row, future))
        outcomes = await asyncio.gather(*(f for _, f in sent), return_exceptions=True)
        published = []
        for (row, _), outcome in zip(sent, outcomes, strict=True):
            if isinstance(outcome, Exception):
                failed.append((row, outcome))
            else:
                published.append(row)
        return published, failed

    async def _broker_answers(self, failed: list[tuple[asyncpg.Record, Exception]]) -> bool:
        """Whether the failures are the rows' own: the broker answers metadata requests, or
        the error names the record."""
        if any(isinstance(exc, _ROW_ERRORS) for _, exc in failed):
            return True
        try:
            return bool(await self._producer.client.force_metadata_update())
        except Exception:
            return False

    async def _record_failures(
        self, conn: Connection, failed: list[tuple[asyncpg.Record, Exception]]
    ) -> None:
        rows = await conn.fetch(
            "update outbox o set attempts = o.attempts + 1, last_error = f.error,"
            " next_attempt_at = clock_timestamp()"
            "   + least($3::float8, $4::float8 * 2 ^ o.attempts) * interval '1 second',"
            " parked_at = case when o.attempts + 1 >= $5 then clock_timestamp() end"
            " from unnest($1::bigint[], $2::text[]) as f(id, error) where o.id = f.id"
            " returning o.id, o.topic, o.attempts, o.parked_at is not null as parked",
            [row["id"] for row, _ in failed],
            [f"{type(exc).__name__}: {exc}"[:2000] for _, exc in failed],
            self._backoff_max,
            self._backoff_initial,
            self._max_attempts,
        )
        for row in rows:
            if row["parked"]:
                metrics.OUTBOX_PARKED_TOTAL.labels(row["topic"]).inc()
                log.error(
                    "outbox row %d for %s parked after %d attempts; later rows of its key"
                    " wait: see `entitle outbox list`",
                    row["id"],
                    row["topic"],
                    row["attempts"],
                )
            else:
                log.warning("outbox row %d for %s failed; will retry", row["id"], row["topic"])

    async def wait_published(self, outbox_id: int, timeout: float) -> bool:
        """Wait until the row has left the outbox (published by this or another copy)."""
        if self._published_lately(outbox_id):
            return True
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(outbox_id, []).append(waiter)
        self.wake()
        if self._checker is None:
            self._checker = asyncio.create_task(self._check_waiters(), name="outbox-waiters")
        try:
            async with asyncio.timeout(timeout):  # unlike wait_for, no task per request
                await waiter
            return True
        except TimeoutError:
            return False
        finally:
            waiting = self._waiters.get(outbox_id, [])
            if waiter in waiting:
                waiting.remove(waiter)
                if not waiting:
                    del self._waiters[outbox_id]

    def _answer(self, published: Iterable[int]) -> None:
        for outbox_id in published:
            for waiter in self._waiters.pop(outbox_id, ()):
                if not waiter.done():
                    waiter.set_result(None)

    async def _check_waiters(self) -> None:
        """Rows another copy of the service published are not announced here: while
        requests wait, one query every 50 ms finds which of their rows have left."""
        try:
            while self._waiters:
                await asyncio.sleep(0.05)
                waiting = list(self._waiters)
                try:
                    async with self._pool.acquire() as conn:
                        rows = await conn.fetch(
                            "select id from outbox where id = any($1::bigint[])", waiting
                        )
                except Exception as exc:  # the waiters time out if this keeps failing
                    log.warning("checking the outbox for waiting requests failed (%s)", exc)
                    continue
                pending = {row["id"] for row in rows}
                self._answer(i for i in waiting if i not in pending)
        finally:
            self._checker = None

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        """A commit inserted outbox rows (`payload`: the last one's id, when it is known)."""
        last = int(payload) if isinstance(payload, str) and payload.isdigit() else None
        if last is None or not self._published_lately(last):
            self._wake.set()

    def _published_lately(self, outbox_id: int) -> bool:
        return any(outbox_id in ids for ids in self._recently_published)

    async def _listen(self, stop: asyncio.Event) -> None:
        """LISTEN is only a wake-up signal; the poll interval is the fallback."""
        while not stop.is_set():
            conn: Connection | None = None
            try:
                conn = await asyncpg.connect(self._dsn, timeout=10)
                await conn.add_listener(CHANNEL, self._notified)
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


@dataclass(frozen=True)
class ParkedRow:
    id: int
    topic: str
    key: str | None
    size: int
    attempts: int
    last_error: str | None
    created_at: datetime
    parked_at: datetime | None
    waiting_behind: int
    """Later rows of the same key that wait for this one."""


async def list_failing(pool: asyncpg.Pool, *, parked_only: bool = True) -> list[ParkedRow]:
    """Rows the relay could not publish: parked ones (and, unless `parked_only`, those still
    being retried), with how many rows of their key wait behind each."""
    rows = await pool.fetch(
        "select o.id, o.topic, o.key, length(o.value) as size, o.attempts, o.last_error,"
        " o.created_at, o.parked_at,"
        " (select count(*) from outbox w where w.topic = o.topic and w.key = o.key"
        "   and w.id > o.id) as waiting_behind"
        " from outbox o where o.attempts > 0 and ($1 = false or o.parked_at is not null)"
        " order by o.id",
        parked_only,
    )
    return [
        ParkedRow(
            **{
                **dict(r),
                "key": r["key"].decode("utf-8", "backslashreplace") if r["key"] else None,
            }
        )
        for r in rows
    ]


async def retry_parked(pool: asyncpg.Pool, ids: Sequence[int] | None) -> list[int]:
    """Give parked rows (all when `ids` is None) a fresh set of attempts, due now."""
    rows = await pool.fetch(
        "update outbox set attempts = 0, parked_at = null, next_attempt_at = '-infinity'"
        " where parked_at is not null and ($1::bigint[] is null or id = any($1::bigint[]))"
        " returning id",
        list(ids) if ids is not None else None,
    )
    await pool.execute(f"select pg_notify('{CHANNEL}', '')")
    return sorted(r["id"] for r in rows)


async def drop_parked(pool: asyncpg.Pool, ids: Sequence[int]) -> list[int]:
    """Delete parked rows for good (their events are never published); the rows of their
    keys behind them go on."""
    rows = await pool.fetch(
        "delete from outbox where parked_at is not null and id = any($1::bigint[]) returning id",
        list(ids),
    )
    await pool.execute(f"select pg_notify('{CHANNEL}', '')")
    return sorted(r["id"] for r in rows)
