"""The event consumer every service uses.

* Records fetched together, from every partition, are applied in one database transaction
  by one path: inbox rows (claimed in one statement), effects and outbox rows commit
  together; offsets are committed only after that. A failing record is taken out of the
  batch (dead-lettered, or its partition held back) and the rest applied again.
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
import contextlib
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

from . import kafka, logs, metrics, outbox, tracing
from .clock import Clock
from .context import Context
from .db import Connection
from .errors import PermanentError, is_transient
from .outbox import OutboxRecord
from .settings import RuntimeSettings

log = logging.getLogger(__name__)

Handler = Callable[[Context, Event[Any]], Awaitable[None]]
BatchHandler = Callable[[Context, Sequence[Event[Any]]], Awaitable[None]]
H = TypeVar("H", bound=Callable[..., Awaitable[None]])


class Subscriptions:
    """Which event types a service handles, and with what.

    A handler registered with `on` applies one event; one registered with `on_batch` applies
    every consecutive event it handles in a fetch at once (in their order), so that it can
    write them with a constant number of statements. It then names each emitted event's
    cause (`ctx.emit(..., cause=event)`).
    """

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self.batch_handlers: dict[str, BatchHandler] = {}

    def on(self, *data_types: type[EventData]) -> Callable[[H], H]:
        def register(handler: H) -> H:
            for data_type in data_types:
                self.handlers[data_type.event_type] = handler
            return handler

        return register

    def on_batch(self, *data_types: type[EventData]) -> Callable[[BatchHandler], BatchHandler]:
        def register(handler: BatchHandler) -> BatchHandler:
            async def one(ctx: Context, event: Event[Any]) -> None:
                await handler(ctx, [event])

            for data_type in data_types:
                self.handlers[data_type.event_type] = one
                self.batch_handlers[data_type.event_type] = handler
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


class _RecordFailed(Exception):
    """One record's handler failed: for good (`dead_letter`), or for now (`cause`)."""

    def __init__(
        self,
        record: ConsumerRecord,
        dead_letter: DeadLetter | None = None,
        cause: BaseException | None = None,
        *,
        in_run: bool = False,
    ) -> None:
        super().__init__(str(dead_letter or cause))
        self.record = record
        self.dead_letter = dead_letter
        self.cause = cause or self
        self.in_run = in_run
        """Raised by a batch handler for several events: which one is not known yet."""


# Errors that end the connection, and with it the transaction: no single record caused them.
_CONNECTION_LOST = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.InternalClientError,
)


def _position(record: ConsumerRecord) -> tuple[str, int, int]:
    return (record.topic, record.partition, record.offset)


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
        self._attempts: dict[TopicPartition, int] = {}
        self._resume_at: dict[TopicPartition, float] = {}
        self._unexpected: dict[tuple[str, int, int], int] = {}
        self._uncommitted: dict[TopicPartition, int] = {}
        self._commit_due = 0.0
        self.assigned = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            **kafka.connection(self._settings),
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
            topics=[prefix + t for t in self._subs.topics], listener=_Rebalance(self, consumer)
        )
        await consumer.start()
        try:
            while not stop.is_set():
                self._resume_due(consumer)
                batch = await consumer.getmany(
                    timeout_ms=200, max_records=self._settings.consumer_batch_max
                )
                if batch:
                    await self._process(consumer, await self._lingered(consumer, batch))
                if self._uncommitted and (not batch or time.monotonic() >= self._commit_due):
                    await self.commit_offsets(consumer)
            await self.commit_offsets(consumer)
        finally:
            await consumer.stop()

    async def _lingered(
        self, consumer: AIOKafkaConsumer, batch: dict[TopicPartition, list[ConsumerRecord]]
    ) -> dict[TopicPartition, list[ConsumerRecord]]:
        """The fetch, with what else arrives within the linger when it is not full. Records
        are taken as they come until the linger ends: the client fetches a partition again
        only once what it already holds of it is taken, so one look at the end would miss
        whatever arrived after that partition's last fetch."""
        room = self._settings.consumer_batch_max - sum(len(rs) for rs in batch.values())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.consumer_linger_ms / 1000
        while room > 0 and (remaining := deadline - loop.time()) > 0:
            more = await consumer.getmany(timeout_ms=round(remaining * 1000), max_records=room)
            for tp, records in more.items():
                batch.setdefault(tp, []).extend(records)
                room -= len(records)
        return batch

    async def _process(
        self, consumer: AIOKafkaConsumer, batch: dict[TopicPartition, list[ConsumerRecord]]
    ) -> None:
        async with self._lock:
            offsets = await self._apply_batch(consumer, batch)
        if offsets:
            self._uncommitted.update(offsets)
            self._on_committed()

    async def commit_offsets(
        self, consumer: AIOKafkaConsumer, partitions: set[TopicPartition] | None = None
    ) -> None:
        """Commit the offsets of what has been applied (of `partitions` only, when given).
        Offsets are committed at most every `consumer_commit_interval_ms` while records keep
        coming, and as soon as a fetch comes back empty: a crash in between delivers those
        records again, and the inbox makes that harmless."""
        offsets = {
            tp: offset
            for tp, offset in self._uncommitted.items()
            if partitions is None or tp in partitions
        }
        for tp in offsets:
            del self._uncommitted[tp]
        self._commit_due = time.monotonic() + self._settings.consumer_commit_interval_ms / 1000
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except (KafkaError, AssertionError) as exc:
            # The partitions moved to another member, or the group is rebalancing: those
            # records will be delivered again and the inbox makes that harmless.
            metrics.COMMIT_FAILURES.inc()
            log.warning("offset commit failed (%s); the batch will be redelivered", exc)

    async def _apply_batch(
        self, consumer: AIOKafkaConsumer, batch: dict[TopicPartition, list[ConsumerRecord]]
    ) -> dict[TopicPartition, int]:
        """Everything fetched, from every partition, in one transaction (one commit, one
        inbox claim), and the offsets to commit. When a record fails, the transaction rolls
        back and the batch is applied again without what failed: a record that can never
        succeed is dead-lettered in its place; a record that may succeed later holds back
        its own partition, with backoff, and the other partitions go on."""
        pending = {tp: records for tp, records in batch.items() if records}
        poisoned: dict[tuple[str, int, int], DeadLetter] = {}
        one_by_one = False
        while pending:
            started = time.perf_counter()
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    staged: list[OutboxRecord] = []
                    # Partition order is kept; across topics, upstream topics first
                    # (commerce, licensing, maintenance, …), which groups each topic's events
                    # into one run of its batch handler.
                    records = [r for tp in sorted(pending) for r in pending[tp]]
                    await self._apply_all(conn, records, poisoned, staged, one_by_one)
                    await outbox.stage(conn, staged)
            except _RecordFailed as failure:
                record = failure.record
                if failure.in_run:  # again, event by event, to find the one that fails
                    one_by_one = True
                    continue
                if failure.dead_letter is not None:
                    poisoned[_position(record)] = failure.dead_letter
                    continue
                tp = TopicPartition(record.topic, record.partition)
                self._back_off(consumer, tp, pending.pop(tp)[0].offset, failure.cause)
                continue
            except Exception as exc:  # not one record's doing: the database went away, say
                for tp, records in pending.items():
                    self._back_off(consumer, tp, records[0].offset, exc)
                return {}
            elapsed = time.perf_counter() - started
            for tp, records in pending.items():
                metrics.HANDLER_SECONDS.labels(tp.topic).observe(elapsed)
                self._attempts.pop(tp, None)
                for record in records:
                    self._unexpected.pop(_position(record), None)
            return {tp: int(records[-1].offset) + 1 for tp, records in pending.items()}
        return {}

    def _back_off(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int, exc: BaseException
    ) -> None:
        """Pause the partition and read it again from `offset` once its backoff is over."""
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
            offset,
            type(exc).__name__,
            exc,
            attempt,
            delay,
        )
        metrics.CONSUMER_RETRIES.inc()
        if tp in consumer.assignment():
            consumer.seek(tp, offset)
            consumer.pause(tp)
            self._resume_at[tp] = time.monotonic() + delay

    async def _apply_all(
        self,
        conn: Connection,
        records: Sequence[ConsumerRecord],
        poisoned: dict[tuple[str, int, int], DeadLetter],
        staged: list[OutboxRecord],
        one_by_one: bool = False,
    ) -> None:
        """Apply records in order, claiming all their inbox rows in one statement; records
        known to fail for good go to the dead-letter topic instead. Consecutive events of one
        batch handler go to it together, unless `one_by_one`."""
        wanted: list[tuple[ConsumerRecord, Event[Any], Handler]] = []
        for record in records:
            failed = poisoned.get(_position(record))
            if failed is None:
                try:
                    event, handler = self._decoded(record)
                except DeadLetter as undecodable:
                    failed = undecodable
                else:
                    if handler is not None:
                        wanted.append((record, event, handler))
                    continue
            await self._dead_letter(conn, record, failed, staged)
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
        fresh = []
        for record, event, handler in wanted:
            if (event.source, event.id) not in claimed:  # seen before, or twice in this batch
                metrics.EVENTS_CONSUMED.labels(record.topic, event.type, "duplicate").inc()
                continue
            claimed.discard((event.source, event.id))
            fresh.append((record, event, handler))
        for run in self._runs(fresh, one_by_one):
            if len(run) == 1:
                record, event, handler = run[0]
                await self._handle(conn, record, event, handler, staged)
            else:
                await self._handle_run(conn, run, staged)

    def _runs(
        self, handled: list[tuple[ConsumerRecord, Event[Any], Handler]], one_by_one: bool
    ) -> list[list[tuple[ConsumerRecord, Event[Any], Handler]]]:
        """Consecutive events of one batch handler, together; every other event alone."""
        runs: list[list[tuple[ConsumerRecord, Event[Any], Handler]]] = []
        previous: BatchHandler | None = None
        for item in handled:
            batch = None if one_by_one else self._subs.batch_handlers.get(item[1].type)
            if batch is not None and batch is previous:
                runs[-1].append(item)
            else:
                runs.append([item])
            previous = batch
        return runs

    async def _handle_run(
        self,
        conn: Connection,
        run: list[tuple[ConsumerRecord, Event[Any], Handler]],
        staged: list[OutboxRecord],
    ) -> None:
        """Several events to one batch handler, each with its own consumer span."""
        events = [event for _, event, _ in run]
        handler = self._subs.batch_handlers[events[0].type]
        ctx = Context(conn, self._clock, self._settings.service, staged=staged)
        try:
            with contextlib.ExitStack() as spans:
                for record, event, _ in run:
                    span = spans.enter_context(self._span(record, event))
                    ctx.traceparents[event.id] = tracing.traceparent_of(span) or event.traceparent
                await handler(ctx, events)
        except _CONNECTION_LOST:
            raise
        except Exception as exc:
            raise _RecordFailed(run[0][0], cause=exc, in_run=True) from exc
        for record, event, _ in run:
            metrics.EVENTS_CONSUMED.labels(record.topic, event.type, "processed").inc()

    def _span(self, record: ConsumerRecord, event: Event[Any]) -> Any:
        return tracing.span(
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
        )

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
            with self._span(record, event):
                await handler(ctx, event)
        except PermanentError as exc:
            raise _RecordFailed(record, DeadLetter(exc.code, exc.detail)) from exc
        except ValidationError as exc:
            raise _RecordFailed(record, DeadLetter("ValidationError", str(exc))) from exc
        except _CONNECTION_LOST:
            raise  # the whole transaction is gone, whichever record was running
        except Exception as exc:
            if is_transient(exc):
                raise _RecordFailed(record, cause=exc) from exc
            key = _position(record)
            self._unexpected[key] = self._unexpected.get(key, 0) + 1
            if self._unexpected[key] >= self._settings.unexpected_error_attempts:
                raise _RecordFailed(record, DeadLetter(type(exc).__name__, str(exc))) from exc
            raise _RecordFailed(record, cause=exc) from exc
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
    def __init__(self, owner: EventConsumer, consumer: AIOKafkaConsumer) -> None:
        self._owner = owner
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # Let the batch in flight finish its transaction, and commit what was applied, before
        # the partitions move: the next owner starts where this one stopped.
        async with self._owner._lock:
            await self._owner.commit_offsets(self._consumer, revoked)
            for tp in revoked:
                self._owner._resume_at.pop(tp, None)
                self._owner._attempts.pop(tp, None)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._owner.assigned.set()
