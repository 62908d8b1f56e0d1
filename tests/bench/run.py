"""`make bench`: Entitle's throughput and latency on this machine, against limits measured
in the same run on the same broker and database (never asserted in tests).

    python -m tests.bench.run [--quick] [--orders N] [--rate R] [--rate-seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from entitle_events import encode, new_event
from entitle_events.commerce import OrderPlaced
from rich.console import Console
from rich.table import Table

from services.cli.webhook_client import sample_order, signed_headers
from services.devstack.stack import Stack, StackConfig
from services.licensing.domain.keys import KeyRing
from services.runtime.db import with_database

from . import wrk
from .load import Rate, http_client, percentile, raw_kafka, raw_postgres, run_for

console = Console()


def order_event(order_id: str) -> bytes:
    data = OrderPlaced.model_validate(sample_order(order_id=order_id))
    return new_event(data, source="bench", subject=order_id, time=datetime.now(UTC))


async def db(stack: Stack, service: str) -> asyncpg.Connection:
    return await asyncpg.connect(with_database(stack.database_url, f"entitle_{service}"))


async def completed(stack: Stack, prefix: str) -> tuple[int, int, int]:
    like = prefix + "%"
    conns = [await db(stack, s) for s in ("licensing", "maintenance", "notification")]
    try:
        return (
            await conns[0].fetchval("select count(*) from licenses where order_id like $1", like),
            await conns[1].fetchval(
                "select count(*) from coverage_periods where order_id like $1", like
            ),
            await conns[2].fetchval(
                "select count(*) from deliveries where correlation_id like $1 and status = 'sent'",
                like,
            ),
        )
    finally:
        for conn in conns:
            await conn.close()


async def latencies(stack: Stack, sent: dict[str, datetime]) -> list[float]:
    conn = await db(stack, "notification")
    try:
        rows = await conn.fetch(
            "select correlation_id, sent_at from deliveries where correlation_id = any($1)",
            list(sent),
        )
    finally:
        await conn.close()
    return [(r["sent_at"] - sent[r["correlation_id"]]).total_seconds() * 1000 for r in rows]


async def wait_done(stack: Stack, prefix: str, n: int, timeout: float) -> float:
    started = time.perf_counter()
    conn = await db(stack, "notification")
    try:
        # Polls only the last stage (emails sent), then checks all three once: the polling
        # shares the cores with what it measures.
        while time.perf_counter() - started < timeout:
            sent = await conn.fetchval(
                "select count(*) from deliveries where correlation_id like $1 and status = 'sent'",
                prefix + "%",
            )
            if sent >= n and min(await completed(stack, prefix)) >= n:
                return time.perf_counter() - started
            await asyncio.sleep(0.25)
    finally:
        await conn.close()
    raise RuntimeError(f"orders not complete after {timeout}s: {await completed(stack, prefix)}")


async def end_to_end(stack: Stack, orders: int) -> dict[str, Any]:
    """Publish N orders to commerce.orders at once; time until license, coverage and email
    exist for every one."""
    prefix = f"B-{uuid.uuid4().hex[:6]}-"
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all", linger_ms=5)
    await producer.start()
    sent: dict[str, datetime] = {}
    started = time.perf_counter()
    futures = []
    for i in range(orders):
        order_id = f"{prefix}{i:06d}"
        event = order_event(order_id)
        sent[order_id] = event.time
        key, value, headers = encode(event)
        futures.append(
            await producer.send("commerce.orders", value=value, key=key, headers=headers)
        )
    await asyncio.gather(*futures)
    await producer.stop()
    elapsed = await wait_done(stack, prefix, orders, timeout=max(120, orders / 10))
    total = time.perf_counter() - started
    lat = await latencies(stack, sent)
    return {
        "orders": orders,
        "seconds": round(total, 2),
        "orders_per_second": round(orders / total, 1),
        "events_per_second": round(orders * 4 / total, 1),  # placed, issued, started, sent
        "p50_ms": round(percentile(lat, 50), 1),
        "p95_ms": round(percentile(lat, 95), 1),
        "p99_ms": round(percentile(lat, 99), 1),
        "drain_seconds": round(elapsed, 2),
    }


async def wait_quiet(stack: Stack, timeout: float = 600) -> float:
    """Wait until no consumer of any service lags: earlier phases leave work behind in
    consumers the completion check does not watch (ticketing, projections)."""
    import re

    started = time.perf_counter()
    async with http_client(4) as client:
        while time.perf_counter() - started < timeout:
            lag = 0.0
            for service in ("licensing", "maintenance", "ticketing", "notification"):
                text = (await client.get(f"{stack.url(service)}/metrics")).text
                lag += sum(
                    float(v) for v in re.findall(r"^entitle_consumer_lag\{.*\} (\S+)$", text, re.M)
                )
            if lag == 0:
                return time.perf_counter() - started
            await asyncio.sleep(1)
    raise RuntimeError("consumers still lag")


async def fixed_rate(stack: Stack, rate: float, seconds: float) -> dict[str, Any]:
    prefix = f"R-{uuid.uuid4().hex[:6]}-"
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all", linger_ms=0)
    await producer.start()
    sent: dict[str, datetime] = {}
    total = int(rate * seconds)
    started = time.perf_counter()
    for i in range(total):
        due = started + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        order_id = f"{prefix}{i:06d}"
        event = order_event(order_id)
        sent[order_id] = event.time
        key, value, headers = encode(event)
        await producer.send("commerce.orders", value=value, key=key, headers=headers)
    await producer.flush()
    await producer.stop()
    await wait_done(stack, prefix, total, timeout=120)
    lat = await latencies(stack, sent)
    return {
        "rate": rate,
        "orders": total,
        "p50_ms": round(percentile(lat, 50), 1),
        "p99_ms": round(percentile(lat, 99), 1),
    }


async def ingress(stack: Stack, seconds: float, concurrency: int) -> Rate:
    url = f"{stack.url('ingress')}/webhooks/orders"
    secret = stack.secrets.webhook_secret
    if wrk.available():
        prepared = []
        for _ in range(int(seconds * 4000)):
            body = json.dumps(sample_order(order_id=f"W-{uuid.uuid4().hex[:12]}"))
            prepared.append((signed_headers(secret, body.encode()), body))
        return await asyncio.to_thread(wrk.run, url, prepared, seconds, concurrency)
    async with http_client(concurrency) as client:

        async def post() -> None:
            body = json.dumps(sample_order(order_id=f"W-{uuid.uuid4().hex[:12]}")).encode()
            response = await client.post(url, content=body, headers=signed_headers(secret, body))
            if response.status_code != 202:
                raise RuntimeError(f"ingress answered {response.status_code}: {response.text}")

        return await run_for(seconds, concurrency, post)


@contextlib.contextmanager
def paused(stack: Stack, services: tuple[str, ...]) -> Iterator[None]:
    """SIGSTOP the services' processes for the block, SIGCONT after."""
    for name in services:
        os.kill(stack.processes[name].pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for name in services:
            os.kill(stack.processes[name].pid, signal.SIGCONT)


CONSUMERS = ("licensing", "maintenance", "ticketing", "notification")


async def batching_gain(stack: Stack, orders: int, batched: dict[str, Any]) -> dict[str, Any]:
    """The same flow with every consumer applying one event per transaction, against the
    run above where a whole fetch is applied in one (the guarantees hold in both)."""
    stack.config.extra_env["ENTITLE_CONSUMER_BATCH_MAX"] = "1"
    for name in CONSUMERS:
        stack.kill_service(name, signal.SIGTERM)
        stack.start_service(name)
    stack.wait_ready(CONSUMERS, timeout=120)
    await end_to_end(stack, 20)  # the groups have rejoined
    single = await end_to_end(stack, orders)
    return {
        "orders": orders,
        "one_event_per_transaction_orders_per_second": single["orders_per_second"],
        "fetch_per_transaction_orders_per_second": batched["orders_per_second"],
        "gain": round(batched["orders_per_second"] / single["orders_per_second"], 2),
    }


async def seed_licenses(stack: Stack, count: int) -> list[str]:
    """Write `count` licenses straight into licensing's table (validation reads only)."""
    ring = KeyRing(stack.secrets.signing_key, "k1")
    now = datetime.now(UTC)
    records, keys = [], []
    for i in range(count):
        license_id = uuid.uuid4()
        key = ring.issue(str(license_id), "backup-pro", "server", now)
        keys.append(key)
        records.append(
            (license_id, key, "perpetual", "backup-pro", "server", "BP-SRV", f"acct-{i % 5000}",
             "Bench", "bench@example.org", None, False, f"V-{i}", "1", now, 5, None, False, 3,
             "backup-care-12", "active", now)
        )  # fmt: skip
    conn = await db(stack, "licensing")
    try:
        await conn.copy_records_to_table(
            "licenses",
            records=records,
            columns=[
                "license_id", "license_key", "kind", "product", "edition", "sku", "account_id",
                "company", "contact_email", "reseller_account_id", "pooled", "order_id",
                "line_id", "purchased_at", "major_version", "expires_at", "auto_renew",
                "max_activations", "maintenance_plan", "status", "created_at",
            ],
        )  # fmt: skip
        await conn.execute("analyze licenses")
    finally:
        await conn.close()
    return keys


async def validation(stack: Stack, keys: list[str], seconds: float, concurrency: int) -> Rate:
    url = f"{stack.url('licensing')}/licenses/validate"
    if wrk.available():
        prepared = [({}, json.dumps({"key": key, "version": "5.1.0"})) for key in keys[:20_000]]
        return await asyncio.to_thread(wrk.run, url, prepared, seconds, concurrency)
    async with http_client(concurrency) as client:

        async def validate() -> None:
            body = {"key": random.choice(keys), "version": "5.1.0"}
            response = await client.post(url, json=body)
            if response.status_code != 200 or not response.json()["valid"]:
                raise RuntimeError(f"validation answered {response.text}")

        return await run_for(seconds, concurrency, validate)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    var = Path("var/bench") / f"run-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    config = StackConfig.ephemeral(var)
    config.durable_db = not args.fast_db
    config.extra_env = {"ENTITLE_LOG_LEVEL": "WARNING"}
    stack = Stack(config)
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(),
        "cores": os.cpu_count(),
        "durable_database": config.durable_db,
        "note": "load generator, broker, database and five services share these cores",
    }
    stack.start_infrastructure()
    try:
        stack.start_services()
        stack.wait_ready(timeout=120)
        with console.status("raw broker and database limits"):
            sample = encode(order_event("X-size"))[1]
            produced, consumed = await raw_kafka(stack.bootstrap, args.raw_messages, len(sample))
            raw_db = await raw_postgres(
                with_database(stack.database_url, "entitle_ticketing"), args.http_seconds, 16
            )
        results["limits"] = {
            "message_bytes": len(sample),
            "kafka_produce_per_second": round(produced.per_second, 1),
            "kafka_consume_per_second": round(consumed.per_second, 1),
            "postgres_transactions_per_second": round(raw_db.per_second, 1),
        }
        with console.status("warming up (consumer groups join)"):
            await end_to_end(stack, 20)
        with console.status(f"end to end: {args.orders} orders"):
            e2e = await end_to_end(stack, args.orders)
        e2e["events_vs_raw_consume"] = round(
            e2e["events_per_second"] / results["limits"]["kafka_consume_per_second"], 4
        )
        # Each order costs about five service transactions (ingress is bypassed here).
        e2e["transactions_vs_raw_postgres"] = round(
            e2e["orders_per_second"] * 5 / results["limits"]["postgres_transactions_per_second"], 3
        )
        results["end_to_end"] = e2e
        with console.status("waiting for every consumer to catch up"):
            e2e["all_consumers_caught_up_after_seconds"] = round(await wait_quiet(stack), 1)
        with console.status(f"fixed rate: {args.rate}/s for {args.rate_seconds}s"):
            results["fixed_rate"] = await fixed_rate(stack, args.rate, args.rate_seconds)
        with console.status("webhook ingress, the other services paused"):
            # What ingress itself absorbs: the broker decouples it from processing, which
            # catches up afterwards (measured next, with everything running).
            with paused(stack, ("licensing", "maintenance", "ticketing", "notification")):
                results["ingress"] = (await ingress(stack, args.http_seconds, 32)).summary()
            await wait_quiet(stack)
        with console.status("webhook ingress while the orders are processed"):
            results["ingress_with_processing"] = (
                await ingress(stack, args.http_seconds, 32)
            ).summary()
        await wait_quiet(stack)
        with console.status(f"license validation over {args.licenses} licenses"):
            keys = await seed_licenses(stack, args.licenses)
            results["validation"] = (await validation(stack, keys, args.http_seconds, 64)).summary()
        with console.status("end to end again, each consumer applying one event per transaction"):
            results["batching"] = await batching_gain(stack, args.orders // 2, e2e)
    finally:
        stack.stop()
    return results


TARGETS = {
    "end_to_end.orders_per_second": (">=", 1000),
    "fixed_rate.p99_ms": ("<=", 250),
    "validation.per_second": (">=", 5000),
    "validation.p99_ms": ("<=", 20),
    "ingress.per_second": (">=", 2000),
}


def report(results: dict[str, Any]) -> None:
    table = Table(title=f"Entitle benchmark ({results['cores']} cores)")
    for column in ("measure", "value", "target"):
        table.add_column(column)
    sections = ("limits", "end_to_end", "fixed_rate", "ingress", "ingress_with_processing")
    for section in (*sections, "validation", "batching"):
        for name, value in results.get(section, {}).items():
            target = TARGETS.get(f"{section}.{name}")
            table.add_row(
                f"{section}.{name}", str(value), f"{target[0]} {target[1]}" if target else ""
            )
    console.print(table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small numbers, a smoke run")
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--rate-seconds", type=float, default=60)
    parser.add_argument("--http-seconds", type=float, default=10)
    parser.add_argument("--licenses", type=int, default=100_000)
    parser.add_argument("--raw-messages", type=int, default=50_000)
    parser.add_argument("--fast-db", action="store_true", help="fsync off (not durable)")
    args = parser.parse_args()
    if args.quick:
        args.orders, args.rate_seconds, args.http_seconds = 500, 10, 3
        args.licenses, args.raw_messages = 5_000, 5_000
    outcome = asyncio.run(main(args))
    report(outcome)
    out = Path("var/bench") / f"{datetime.now(UTC):%Y-%m-%d}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(outcome, indent=2) + "\n")
    console.print(f"written to {out}")
