"""The composition root every service shares: database, broker, outbox relay, consumer,
scheduled jobs, started and stopped together."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from entitle_events import Event
from entitle_events.topics import dead_letter_topic
from fastapi import APIRouter

from . import db, kafka
from .auth import AccessTokenVerifier, ApiKeys
from .clock import Clock, OffsetFileClock, SystemClock
from .consumer import EventConsumer, Subscriptions
from .context import Context
from .fast_routes import FastRoute
from .lag import LagReporter
from .outbox import OutboxRelay
from .replay import Projection
from .scheduler import Job
from .settings import RuntimeSettings, SettingsError

log = logging.getLogger(__name__)


@dataclass
class ServiceDefinition:
    """What makes one service: its settings, tables, subscriptions, routes and jobs."""

    name: str
    settings: RuntimeSettings
    migrations: Path
    description: str = ""
    subscriptions: Subscriptions = field(default_factory=Subscriptions)
    routers: Sequence[APIRouter] = ()
    publishes: Sequence[str] = ()
    jobs: Callable[[Runtime], Sequence[Job]] = lambda runtime: ()
    projections: Sequence[Projection] = ()
    fast_routes: Sequence[FastRoute] = ()
    refusal_status: Mapping[str, int] = field(default_factory=dict)
    """The HTTP status of each refusal code the service's commands raise (409 when unlisted)."""
    configure_app: Callable[[Any], None] | None = None
    """Last touches to the FastAPI app (the portal's HTML error pages, static files)."""
    dependencies: object = None
    """What the service's routes need besides the runtime (its catalog, keys, templates),
    built once by its bootstrap.py; a route receives it typed through
    `runtime.http.dependencies_of`."""


def tune_garbage_collector() -> None:
    """For a long-running service process: what start-up created (modules, catalog,
    templates) is frozen out of collection, and the youngest generation is collected less
    often. A service allocates many short-lived objects per request and event, and the
    default thresholds made full collections the largest cost in the validation tail."""
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)


class Runtime:
    def __init__(self, definition: ServiceDefinition, clock: Clock | None = None) -> None:
        self.definition = definition
        self.settings = definition.settings
        self.name = definition.name
        self.clock: Clock = clock or (
            OffsetFileClock(self.settings.clock_offset_file)
            if self.settings.clock_offset_file
            else SystemClock()
        )
        admin_key = self.settings.admin_api_key
        self.api_keys = ApiKeys.load(
            admin_key.get_secret_value() if admin_key else None,
            self.settings.api_keys_file,
            AccessTokenVerifier(self.settings.access_token_public_keys, self.clock.now),
        )
        self.ready = False
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._pool: asyncpg.Pool | None = None
        self._producer: AIOKafkaProducer | None = None
        self._relay: OutboxRelay | None = None
        self.consumer: EventConsumer | None = None
        self.jobs: list[Job] = []
        self.restarts: dict[str, int] = {}

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "runtime not started"
        return self._pool

    @property
    def relay(self) -> OutboxRelay:
        assert self._relay is not None, "runtime not started"
        return self._relay

    @property
    def dsn(self) -> str:
        return db.with_database(self.settings.database_url, self.settings.database_name)

    async def start(self) -> None:
        s = self.settings
        await _retry("database", lambda: db.ensure_database(s.database_url, s.database_name))
        self._pool = await _retry(
            "database pool", lambda: db.create_pool(self.dsn, s.database_pool_size)
        )
        migrations = (db.RUNTIME_MIGRATIONS, self.definition.migrations)
        if s.migrate_on_start:
            await db.migrate(self.pool, *migrations)
        elif pending := await db.pending_migrations(self.pool, *migrations):
            raise SettingsError(
                [
                    f"ENTITLE_MIGRATE_ON_START is false and {s.database_name} lacks"
                    f" {', '.join(pending)}: run `entitle migrate {self.name}` first"
                ]
            )
        subs = self.definition.subscriptions
        if s.kafka_create_topics:
            topics = {*self.definition.publishes, *subs.topics}
            topics |= {dead_letter_topic(t, s.consumer_group) for t in subs.topics}
            topics = {s.kafka_topic_prefix + t for t in topics}
            await _retry(
                "broker",
                lambda: kafka.ensure_topics(
                    s.kafka_bootstrap,
                    topics,
                    s.kafka_partitions,
                    s.kafka_replication,
                    kafka.connection(s),
                ),
            )
        self._producer = kafka.create_producer(s)
        await _retry("producer", self._producer.start)
        self._relay = OutboxRelay(
            self.pool,
            self._producer,
            dsn=self.dsn,
            topic_prefix=s.kafka_topic_prefix,
            batch_max=s.outbox_batch_max,
            backoff_max=s.retry_backoff_max,
            max_attempts=s.outbox_max_attempts,
        )
        relay = self._relay
        self._spawn(lambda: relay.run(self._stop), "outbox-relay")
        if subs.handlers:
            self.consumer = EventConsumer(
                settings=s,
                subscriptions=subs,
                pool=self.pool,
                clock=self.clock,
                on_committed=self.committed,
            )
            consumer = self.consumer
            self._spawn(lambda: consumer.run(self._stop), "consumer")
            lag = LagReporter(
                kafka.connection(s),
                s.consumer_group,
                [s.kafka_topic_prefix + t for t in subs.topics],
            )
            self._spawn(lambda: lag.run(self._stop), "consumer-lag")
        self.jobs = list(self.definition.jobs(self))
        for job in self.jobs:
            self._spawn(
                lambda job=job: job.loop(self._stop, s.retry_backoff_max),  # type: ignore[misc]
                f"job-{job.name}",
            )
        self.ready = True
        log.info("%s started", self.name)

    async def stop(self) -> None:
        """Let in-flight work finish (the consumer completes and commits its batch)."""
        self.ready = False
        self._stop.set()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=15)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._producer is not None:
            await self._producer.stop()
        if self._pool is not None:
            await self._pool.close()
        log.info("%s stopped", self.name)

    @asynccontextmanager
    async def transaction(self, cause: Event[Any] | None = None) -> AsyncIterator[Context]:
        """A unit of work for commands: state changes and emitted events commit together."""
        async with self.pool.acquire() as conn, conn.transaction():
            ctx = Context(conn, self.clock, self.name, cause=cause)
            yield ctx
            written = await ctx.flush()
        if written:
            self.committed()

    def committed(self) -> None:
        """New rows were committed: the relay and the jobs that act on new work look now."""
        self.relay.wake()
        for job in self.jobs:
            if job.wake_on_commit:
                job.wake.set()

    def wake(self) -> None:
        """Let the relay and every job look now, not at their next poll."""
        self.relay.wake()
        for job in self.jobs:
            job.wake.set()

    async def check_ready(self) -> dict[str, str]:
        problems: dict[str, str] = {}
        try:
            async with self.pool.acquire(timeout=2) as conn:
                await conn.fetchval("select 1")
        except Exception as exc:
            problems["database"] = f"{type(exc).__name__}: {exc}"
        if self._tasks and any(t.done() for t in self._tasks) and not self._stop.is_set():
            problems["tasks"] = ", ".join(t.get_name() for t in self._tasks if t.done())
        if not self.ready:
            problems["runtime"] = "starting or stopping"
        return problems

    def _spawn(self, run: Callable[[], Awaitable[None]], name: str) -> None:
        """Run a loop until stop; a crash restarts it after a pause instead of leaving the
        process half alive."""

        async def supervised() -> None:
            delay = 0.5
            while not self._stop.is_set():
                try:
                    await run()
                    return
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s crashed; restarting in %.1fs", name, delay)
                    self.restarts[name] = self.restarts.get(name, 0) + 1
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.settings.retry_backoff_max)

        self._tasks.append(asyncio.create_task(supervised(), name=name))


async def _retry(what: str, attempt: Callable[[], Awaitable[Any]], timeout: float = 60) -> Any:
    """Dependencies may start after the service (compose, Kubernetes): wait for them."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.2
    while True:
        try:
            return await attempt()
        except Exception as exc:
            if loop.time() >= deadline:
                raise RuntimeError(f"{what} unavailable after {timeout:.0f}s: {exc}") from exc
            log.info("waiting for %s: %s", what, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 3)
