"""An outbox of its own for relay tests: a migrated database, a topic and started producers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaProducer

from services.runtime import db, kafka
from services.runtime.settings import RuntimeSettings
from tests.conftest import unique
from tests.infra import Infra


@dataclass(frozen=True)
class Outbox:
    name: str
    dsn: str
    pool: asyncpg.Pool
    topic: str
    producers: list[AIOKafkaProducer]


@asynccontextmanager
async def outbox(
    infra: Infra, prefix: str, *, partitions: int, producers: int = 1
) -> AsyncIterator[Outbox]:
    name = unique(prefix)
    dsn = db.with_database(infra.database_url, name)
    await db.ensure_database(infra.database_url, name)
    pool = await db.create_pool(dsn, 6)
    started: list[AIOKafkaProducer] = []
    try:
        await db.migrate(pool, db.RUNTIME_MIGRATIONS)
        topic = f"{name}.probe"
        await kafka.ensure_topics(infra.bootstrap, [topic], partitions=partitions)
        settings = RuntimeSettings(
            service=name, kafka_bootstrap=infra.bootstrap, kafka_idempotence=infra.idempotence
        )
        for _ in range(producers):
            producer = kafka.create_producer(settings)
            await producer.start()
            started.append(producer)
        yield Outbox(name, dsn, pool, topic, started)
    finally:
        for producer in started:
            await producer.stop()
        await pool.close()
