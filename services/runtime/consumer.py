"""The event consumer every service uses (DESIGN §3).

* Records fetched together are applied in one database transaction (falling back to one
  transaction per partition when that fails): inbox rows, effects and outbox rows commit
  together; offsets are committed only after that.
* A redelivered event finds its inbox row and changes nothing.
* Transient errors pause only the failing partition, with exponential backoff, and it is
  retried from its first uncommitted record; other partitions go on.
* Permanent errors (undecodable record, unknown type, rule violation, or an unexpected error
  that keeps failing) go to `<topic>.<group>.dlt` through the outbox with the original
  topic, partition, offset and the error in headers, and the consumer moves on.

Written on aiokafka directly rather than FastStream's subscriber: FastStream 0.7 commits
without explicit offsets, logs and swallows commit failures, and has neither backoff nor
dead letters, and these rules are the product's guarantees.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from entitle_events import DATA_BY_TYPE, Event, EventData, EventDecodeError, decode
from entitle_events.kafka import header
from entitle_events.topics import dead_letter_topic
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from . import logs, metrics, outbox, tracing
from .clock import Clock
from .context import Context
from .db import Connection
from .errors import PermanentError, is_transient
from .outbox import OutboxRecord
from .settings import RuntimeSettings

log = logging.getLogger(__name__)

Handler = Callable[[Context, Event[Any]], Awaitable[None]]
H = TypeVar("H", bound=Callable[..., Awaitable[None]])


class Subscriptions:
    """Which event types a service handles, and with what."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}

    def on(self, *data_types: type[EventData]) -> Callable[[H], H]:
        def register(handler: H) -> H:
            for data_type in data_types:
                self.handlers[data_type.event_type] = handler
            return handler

        return register

    @property
    def topics(self) -> list[str]:
        return sorted({DATA_BY_TYPE[t].topic for t in self.handlers})


class DeadLetter(Exception):
    """A record that must go to the dead-letter topic."""

    def __init__(self, error_class: str, message: str) -> None:
        super().__init__(f"{error_class}: {message}")
        self.error_class = error_class
        self.message = message[:2000]


class EventConsumer:
    def __init__(
        self,
        *,
        settings: RuntimeSettings,
        subscriptions: Subscriptions,
        pool: asyncpg.Pool,
        clock: Clock,
        on_committed: Callable[[], None] = lambda: None,
    ) -> None:
        self._settings = settings
        self._group = settings.consumer_group
        self._subs = subscriptions
        self._pool = pool
        self._clock = clock
        self._on_committed = on_committed
        self._lock = asyncio.Lock()
        self._parallel = asyncio.Semaphore(max(1, settings.database_pool_size // 2))
        self._attempts: dict[TopicPartition, int] = {}
        self._resume_at: dict[TopicPartition, float] = {}
        self._unexpected: dict[tuple[str, int, int], int] = {}
        self.assigned = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.kafka_bootstrap,
            group_id=self._group,
            client_id=f"entitle-{self._settings.service}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._settings.consumer_batch_max,
            metadata_max_age_ms=10_000,
            session_timeout_ms=self._settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=self._settings.kafka_heartbeat_interval_ms,
            fetch_max_wait_ms=self._settings.kafka_fetch_max_wait_ms,
        )
        prefix = self._settings.kafka_topic_prefix
        consumer.subscribe(
            topics=[prefix + t for t in self._subs.topics], listener=_Rebalance(self)
        )
        await consumer.start()
        try:
            while not stop.is_set():
                self._resume_due(consumer)
                batch = await consumer.getmany(
                    timeout_ms=200, max_records=self._settings.consumer_batch_max
                )
                if batch:
                    await self._process(consumer, batch)
        finally:
            await consumer.stop()

    async def _process(
        self, consumer: AIOKafkaConsumer, batch: dict[TopicPartition, list[ConsumerRecord]]
    ) -> None:
        async with self._lock:
            offsets = await self._together(batch)
            if offsets is None:
                done = await asyncio.gather(
                    *(self._partition(consumer, tp, records) for tp, records in batch.items())
                )
                offsets = {tp: o for tp, o in zip(batch, done, strict=True) if o is not None}
        if not offsets:
            return
        self._on_committed()
        try:
            await consumer.commit(offsets)
        except (KafkaError, AssertionError) as exc:
            # The partitions moved to another member, or the group is rebalancing: those
            # records will be delivered again and the inbox makes that harmless.
            metrics.COMMIT_FAILURES.inc()
            log.warning("offset commit failed (%s); the batch will be redelivered", exc)
        for tp, offset in offsets.items():
            high = consumer.highwater(tp)
            if high is not None:
                metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, high - offset))

    async def _together(
        self, batch: dict[TopicPartition, list[ConsumerRecord]]
    ) -> dict[TopicPartition, int] | None:
        """Everything fetched from several partitions in one transaction: one commit (one
        WAL flush) instead of one per partition. On any failure, None: the caller applies
        the partitions one by one, which isolates the failing one."""
        if len(batch) < 2:
            return None
        started = time.perf_counter()
        try:
            async with self._parallel, self._pool.acquire() as conn, conn.transaction():
                staged: list[OutboxRecord] = []
                await self._apply_all(conn, [r for rs in batch.values() for r in rs], staged)
                await outbox.stage(conn, staged)
        except Exception as exc:
            log.debug("combined batch failed (%s); applying partitions one by one", exc)
            return None
        elapsed = time.perf_counter() - started
        for tp, records in batch.items():
            metrics.HANDLER_SECONDS.labels(tp.topic).observe(elapsed)
            self._attempts.pop(tp, None)
            for record in records:
                self._unexpected.pop((record.topic, record.partition, record.offset), None)
        return {tp: int(records[-1].offset) + 1 for tp, records in batch.items()}

    async def _partition(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, records: list[ConsumerRecord]
    ) -> int | None:
        started = time.perf_counter()
        try:
            async with self._parallel:
                await self._apply_records(records)
        except Exception as exc:
            attempt = self._attempts.get(tp, 0) + 1
            self._attempts[tp] = attempt
            delay = min(
                self._settings.retry_backoff_max,
                self._settings.retry_backoff_initial * 2 ** (attempt - 1),
            ) * random.uniform(0.8, 1.2)
            log.warning(
                "%s[%d] offset %d: %s: %s; retry %d in %.1fs",
                tp.topic,
                tp.partition,
                records[0].offset,
                type(exc).__name__,
                exc,
                attempt,
                delay,
            )
            metrics.CONSUMER_RETRIES.inc()
            if tp in consumer.assignment():
                consumer.seek(tp, records[0].offset)
                consumer.pause(tp)
                self._resume_at[tp] = time.monotonic() + delay
            return None
        self._attempts.pop(tp, None)
        for record in records:
            self._unexpected.pop((record.topic, record.partition, record.offset), None)
        metrics.HANDLER_SECONDS.labels(tp.topic).observe(time.perf_counter() - started)
        return int(records[-1].offset) + 1

    async def _apply_records(self, records: Sequence[ConsumerRecord]) -> None:
        # Fast path: the whole batch in one transaction, no savepoints.
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                staged: list[OutboxRecord] = []
                await self._apply_all(conn, records, staged)
                await outbox.stage(conn, staged)
            return
        except DeadLetter:
            pass
        # A record must be dead-lettered: redo the batch, each record in a savepoint.
        async with self._pool.acquire() as conn, conn.transaction():
            staged = []
            for record in records:
                local: list[OutboxRecord] = []
                try:
                    async with conn.transaction():
                        await self._apply(conn, record, local)
                except DeadLetter as failure:
                    await self._dead_letter(conn, record, failure, staged)
                    continue
                staged.extend(local)
            await outbox.stage(conn, staged)

    async def _apply_all(
        self, conn: Connection, records: Sequence[ConsumerRecord], staged: list[OutboxRecord]
    ) -> None:
        """Apply records in order, claiming all their inbox rows in one statement."""
        wanted: list[tuple[ConsumerRecord, Event[Any], Handler]] = []
        for record in records:
            event, handler = self._decoded(record)
            if handler is not None:
                wanted.append((record, event, handler))
        if not wanted:
            return
        rows = await conn.fetch(
            "insert into inbox (consumer, source, event_id)"
            " select $1, s, e from unnest($2::text[], $3::uuid[]) as t(s, e)"
            " on conflict do nothing returning source, event_id",
            self._group,
            [e.source for _, e, _ in wanted],
            [e.id for _, e, _ in wanted],
        )
        claimed = {(r["source"], r["event_id"]) for r in rows}
        for record, event, handler in wanted:
            if (event.source, event.id) not in claimed:  # seen before, or twice in this batch
                metrics.EVENTS_CONSUMED.labels(record.topic, event.type, "duplicate").inc()
                continue
            claimed.discard((event.source, event.id))
            await self._handle(conn, record, event, handler, staged)

    async def _apply(
        self, conn: Connection, record: ConsumerRecord, staged: list[OutboxRecord]
    ) -> None:
        event, handler = self._decoded(record)
        if handler is None:
            return
        claimed = await conn.fetchval(
            "insert into inbox (consumer, source, event_id) values ($1, $2, $3)"
            " on conflict do nothing returning true",
            self._group,
            event.source,
            event.id,
        )
        if not claimed:
            metrics.EVENTS_CONSUMED.labels(record.topic, event.type, "duplicate").inc()
            return
        await self._handle(conn, record, event, handler, staged)

    def _decoded(self, record: ConsumerRecord) -> tuple[Event[Any], Handler | None]:
        """The record's event and its handler (None: a type this service does not handle)."""
        try:
            event = decode(record.headers, record.value)
        except EventDecodeError as exc:
            metrics.EVENTS_CONSUMED.labels(record.topic, "?", "invalid").inc()
            raise DeadLetter(type(exc).__name__, str(exc)) from exc
        handler = self._subs.handlers.get(event.type)
        if handler is None:
            metrics.EVENTS_CONSUMED.labels(record.topic, event.type, "ignored").inc()
        return event, handler

    async def _handle(
        self,
        conn: Connection,
        record: ConsumerRecord,
        event: Event[Any],
        handler: Handler,
        staged: list[OutboxRecord],
    ) -> None:
        ctx = Context(conn, self._clock, self._settings.service, cause=event, staged=staged)
        logs.correlation_id.set(event.correlationid)
        logs.trace_id.set(logs.trace_of(event.traceparent))
        try:
            with tracing.span(
                f"process {event.type}",
                kind=SpanKind.CONSUMER,
                traceparent=event.traceparent,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": record.topic,
                    "messaging.kafka.partition": record.partition,
                    "messaging.kafka.offset": record.offset,
                    "messaging.message.id": str(event.id),
                    "messaging.consumer.group.name": self._group,
                },
            ):
                await handler(ctx, event)
        except PermanentError as exc:
            raise DeadLetter(exc.code, exc.detail) from exc
        except ValidationError as exc:
            raise DeadLetter("ValidationError", str(exc)) from exc
        except Exception as exc:
            if is_transient(exc):
                raise
            key = (record.topic, record.partition, record.offset)
            self._unexpected[key] = self._unexpected.get(key, 0) + 1
            if self._unexpected[key] >= self._settings.unexpected_error_attempts:
                raise DeadLetter(type(exc).__name__, str(exc)) from exc
            raise
        metrics.EVENTS_CONSUMED.labels(record.topic, event.type, "processed").inc()

    async def _dead_letter(
        self,
        conn: Connection,
        record: ConsumerRecord,
        failure: DeadLetter,
        staged: list[OutboxRecord],
    ) -> None:
        headers = list(record.headers or ())
        topic = record.topic.removeprefix(self._settings.kafka_topic_prefix)
        event_id = header(headers, "ce_id")
        event_type = header(headers, "ce_type")
        inserted = await conn.fetchval(
            'insert into dead_letters (consumer, topic, partition, "offset", key, value,'
            " headers, event_id, event_type, error_class, error_message)"
            " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            " on conflict do nothing returning id",
            self._group,
            topic,
            record.partition,
            record.offset,
            record.key,
            record.value,
            outbox.pack_headers(headers),
            event_id,
            event_type,
            failure.error_class,
            failure.message,
        )
        if inserted is None:  # already dead-lettered on an earlier delivery
            return
        log.error(
            "dead letter %s[%d]@%d %s: %s",
            record.topic,
            record.partition,
            record.offset,
            failure.error_class,
            failure.message,
        )
        metrics.DEAD_LETTERS.labels(topic, failure.error_class).inc()
        staged.append(
            OutboxRecord(
                dead_letter_topic(topic, self._group),
                record.key,
                record.value or b"",
                [
                    *[(k, v) for k, v in headers if not k.startswith("dlt_")],
                    ("dlt_original_topic", record.topic.encode()),
                    ("dlt_original_partition", str(record.partition).encode()),
                    ("dlt_original_offset", str(record.offset).encode()),
                    ("dlt_consumer_group", self._group.encode()),
                    ("dlt_error_class", failure.error_class.encode()),
                    ("dlt_error_message", failure.message.encode()),
                    ("dlt_dead_letter_id", str(inserted).encode()),
                ],
            )
        )

    def _resume_due(self, consumer: AIOKafkaConsumer) -> None:
        now = time.monotonic()
        for tp, at in list(self._resume_at.items()):
            if at <= now:
                del self._resume_at[tp]
                if tp in consumer.assignment():
                    consumer.resume(tp)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: EventConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # Let the batch in flight finish its transaction before the partitions move.
        async with self._owner._lock:
            for tp in revoked:
                self._owner._resume_at.pop(tp, None)
                self._owner._attempts.pop(tp, None)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._owner.assigned.set()
