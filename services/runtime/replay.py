"""Rebuilding a projection: re-applying the events of its topics from an offset.

A projection is a set of tables a service keeps only from other services' events (ticketing's
entitlement facts, licensing's copy of coverage). Its handlers are upserts that emit nothing,
so they can be applied again. The rebuild runs in one transaction that first takes the inbox
table in EXCLUSIVE mode: the service's own consumer waits at its next inbox insert instead of
interleaving newer events with the replayed older ones, and readers see the old projection
until the new one commits. Everything up to the topics' end offsets, read after the lock is
held, is applied; what arrives later is applied by the consumer as usual.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from entitle_events import EventData, EventDecodeError, decode

from .clock import Clock
from .consumer import Handler, Subscriptions
from .context import Context


@dataclass(frozen=True)
class Projection:
    """Tables a service keeps only from other services' events, and the event types that
    feed them (handled by the service's subscriptions)."""

    name: str
    tables: tuple[str, ...]
    event_types: tuple[type[EventData], ...]
    handlers: Mapping[str, Handler] | None = None
    """The handlers that rebuild it, by event type; default: the service's subscriptions
    (give plain upserts here when the subscribed handlers also act on what they project)."""
    finish: Callable[[Any, datetime], Awaitable[None]] | None = None
    """Run in the rebuild's transaction after the events (connection, now)."""

    @property
    def topics(self) -> list[str]:
        """Feeding topics, in a stable order (the order of the first type on each)."""
        return list(dict.fromkeys(t.topic for t in self.event_types))


class ReplayError(Exception):
    """The rebuild cannot run or failed; nothing was changed."""


@dataclass
class ReplayReport:
    projection: str
    reset: bool
    records: Counter[str] = field(default_factory=Counter)
    applied: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


@dataclass(frozen=True)
class Start:
    """Where to start on every partition: an offset, or the first record at or after a time."""

    offset: int = 0
    at: datetime | None = None


async def rebuild(
    *,
    pool: asyncpg.Pool,
    projection: Projection,
    subscriptions: Subscriptions,
    bootstrap: str,
    topic_prefix: str,
    service: str,
    connection: dict[str, Any] | None = None,
    progress: Progress | None = None,
    clock: Clock,
    start: Start = Start(),
    reset: bool = False,
    allow_gap: bool = False,
) -> ReplayReport:
    if reset and (start.offset or start.at):
        raise ReplayError("--reset empties the tables, so it replays from the beginning only")
    handlers = dict(projection.handlers or {}) or {
        t.event_type: subscriptions.handlers[t.event_type] for t in projection.event_types
    }
    report = ReplayReport(projection.name, reset)
    started = time.perf_counter()
    consumer = AIOKafkaConsumer(
        **(connection or {"bootstrap_servers": bootstrap}),
        enable_auto_commit=False,
        client_id=f"entitle-replay-{service}",
    )
    await consumer.start()
    try:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("lock table inbox in exclusive mode")
            if reset:
                await conn.execute(f"truncate {', '.join(projection.tables)}")
            partitions = await _assign(consumer, [topic_prefix + t for t in projection.topics])
            for topic, tps in partitions.items():
                await _replay_topic(
                    consumer,
                    topic,
                    tps,
                    start,
                    allow_gap=allow_gap or not reset,
                    apply=_Applier(conn, clock, service, handlers, report),
                    progress=progress or (lambda topic, done, total: None),
                )
            if projection.finish is not None:
                await projection.finish(conn, clock.now())
    finally:
        await consumer.stop()
    report.seconds = time.perf_counter() - started
    return report


# Told (topic, records applied, records to apply) as a topic's replay goes on.
Progress = Callable[[str, int, int], None]


@dataclass
class _Applier:
    conn: Any
    clock: Clock
    service: str
    handlers: dict[str, Handler]
    report: ReplayReport

    async def __call__(self, topic: str, headers: Any, value: bytes | None) -> None:
        self.report.records[topic] += 1
        try:
            event = decode(headers, value)
        except EventDecodeError:
            self.report.skipped["undecodable"] += 1
            return
        handler = self.handlers.get(event.type)
        if handler is None:
            self.report.skipped[event.type] += 1
            return
        ctx = Context(self.conn, self.clock, self.service, cause=event)
        await handler(ctx, event)
        if ctx.staged:
            raise ReplayError(f"the handler of {event.type} emits events: not a projection")
        self.report.applied[event.type] += 1


async def _assign(consumer: AIOKafkaConsumer, topics: list[str]) -> dict[str, list[TopicPartition]]:
    """Every partition of the topics, assigned at once (the metadata fetched at start knows
    every topic; after an assignment the consumer tracks only the assigned ones)."""
    found: dict[str, list[TopicPartition]] = {}
    for topic in topics:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise ReplayError(f"topic {topic} does not exist")
        found[topic] = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign([tp for tps in found.values() for tp in tps])
    return found


async def _replay_topic(
    consumer: AIOKafkaConsumer,
    topic: str,
    partitions: list[TopicPartition],
    start: Start,
    *,
    allow_gap: bool,
    apply: _Applier,
    progress: Progress,
) -> None:
    first = await consumer.beginning_offsets(partitions)
    ends = await consumer.end_offsets(partitions)
    if not allow_gap and any(first[tp] > 0 for tp in partitions):
        lost = ", ".join(f"{tp.partition}: {first[tp]}" for tp in partitions if first[tp] > 0)
        raise ReplayError(
            f"{topic} no longer holds its first records (earliest offsets {lost}); a reset"
            " would lose what they built. Pass --allow-gap to rebuild from what is left."
        )
    begin = await _start_offsets(consumer, partitions, start, first, ends)
    for tp in partitions:
        consumer.seek(tp, begin[tp])
    pending = {tp for tp in partitions if begin[tp] < ends[tp]}
    total, done = sum(ends[tp] - begin[tp] for tp in partitions), 0
    progress(topic, done, total)
    while pending:
        batch = await consumer.getmany(*pending, timeout_ms=1000)
        for tp, records in batch.items():
            for record in records:
                if record.offset < ends[tp]:
                    await apply(topic, record.headers, record.value)
                    done += 1
            if await consumer.position(tp) >= ends[tp]:
                pending.discard(tp)
        progress(topic, done, total)


async def _start_offsets(
    consumer: AIOKafkaConsumer,
    partitions: list[TopicPartition],
    start: Start,
    first: dict[TopicPartition, int],
    ends: dict[TopicPartition, int],
) -> dict[TopicPartition, int]:
    if start.at is None:
        return {tp: min(max(start.offset, first[tp]), ends[tp]) for tp in partitions}
    millis = int(start.at.timestamp() * 1000)
    found = await consumer.offsets_for_times(dict.fromkeys(partitions, millis))
    return {tp: found[tp].offset if found[tp] else ends[tp] for tp in partitions}
