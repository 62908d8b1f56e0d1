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
import re
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from entitle_cli.webhook_client import sample_order, signed_headers
from entitle_dev.stack import SERVICES, Stack, StackConfig
from entitle_events import encode, new_event
from entitle_events.commerce import OrderPlaced
from rich.console import Console
from rich.table import Table

from services.licensing.domain.keys import KeyRing
from services.runtime.db import with_database

from . import chart, cpu, statements, wrk
from .load import http_client, percentile, raw_kafka, raw_postgres

console = Console()


CONSUMERS = ("licensing", "maintenance", "ticketing", "notification", "portal")


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


async def stages(stack: Stack, sent: dict[str, datetime]) -> dict[str, dict[str, float]]:
    """Where each order's time went (p50/p99 ms): to its license, from the license to its
    email being queued (maintenance's coverage and the digest in between), and from queued
    to accepted by the SMTP server."""
    lic, note = await db(stack, "licensing"), await db(stack, "notification")
    try:
        licensed = {
            r["order_id"]: r["created_at"]
            for r in await lic.fetch(
                "select order_id, min(created_at) as created_at from licenses"
                " where order_id = any($1) group by order_id",
                list(sent),
            )
        }
        emails = await note.fetch(
            "select correlation_id, created_at, sent_at from deliveries"
            " where correlation_id = any($1) and status = 'sent'",
            list(sent),
        )
    finally:
        await lic.close()
        await note.close()
    spans: dict[str, list[float]] = {
        "to license": [],
        "license to queued email": [],
        "queued to sent": [],
    }
    for row in emails:
        order, license_at = row["correlation_id"], licensed.get(row["correlation_id"])
        if license_at is None:
            continue
        spans["to license"].append((license_at - sent[order]).total_seconds() * 1000)
        spans["license to queued email"].append(
            (row["created_at"] - license_at).total_seconds() * 1000
        )
        spans["queued to sent"].append((row["sent_at"] - row["created_at"]).total_seconds() * 1000)
    return {
        name: {"p50_ms": round(percentile(v, 50), 1), "p99_ms": round(percentile(v, 99), 1)}
        for name, v in spans.items()
    }


async def wait_done(
    stack: Stack, prefix: str, n: int, timeout: float, since: float | None = None
) -> tuple[float, list[tuple[float, int]]]:
    """Seconds until all `n` orders are complete, and the count of emails sent over time
    (seconds since `since`, by default since the call)."""
    started = time.perf_counter()
    origin = started if since is None else since
    timeline: list[tuple[float, int]] = []
    conn = await db(stack, "notification")
    try:
        # Polls only the last stage (emails sent), then checks all three once: the polling
        # shares the cores with what it measures.
        while time.perf_counter() - started < timeout:
            sent = await conn.fetchval(
                "select count(*) from deliveries where correlation_id like $1 and status = 'sent'",
                prefix + "%",
            )
            timeline.append((round(time.perf_counter() - origin, 2), int(sent)))
            if sent >= n and min(await completed(stack, prefix)) >= n:
                return time.perf_counter() - started, timeline
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
    elapsed, timeline = await wait_done(
        stack, prefix, orders, timeout=max(120, orders / 10), since=started
    )
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
        "timeline": timeline,
        "latencies_ms": [round(v, 1) for v in lat],
    }


async def wait_quiet(stack: Stack, timeout: float = 600) -> float:
    """Wait until no consumer of any service lags, no outbox holds a row and no email waits
    to be sent: earlier phases leave work behind that the completion check does not watch
    (ticketing, projections, the emails of webhooks), and the next phase must not share the
    cores with it."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if await consumer_lag(stack) == 0 and await unfinished_rows(stack) == 0:
            return time.perf_counter() - started
        await asyncio.sleep(1)
    raise RuntimeError("work still pending")


async def consumer_lag(stack: Stack) -> float:
    lag = 0.0
    async with http_client(4) as client:
        for service in CONSUMERS:
            text = (await client.get(f"{stack.url(service)}/metrics")).text
            lag += sum(
                float(v) for v in re.findall(r"^entitle_consumer_lag\{.*\} (\S+)$", text, re.M)
            )
    return lag


async def unfinished_rows(stack: Stack) -> int:
    """Outbox rows of every service and emails still to send."""
    total = 0
    for service in SERVICES:
        conn = await db(stack, service)
        try:
            total += await conn.fetchval("select count(*) from outbox where parked_at is null")
            if service == "notification":
                total += await conn.fetchval(
                    "select count(*) from deliveries where status = 'pending'"
                )
        finally:
            await conn.close()
    return total


async def fixed_rate(stack: Stack, rate: float, seconds: float, label: str) -> dict[str, Any]:
    prefix = f"R-{uuid.uuid4().hex[:6]}-"
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all", linger_ms=0)
    await producer.start()
    sent: dict[str, datetime] = {}
    total = int(rate * seconds)
    started = time.perf_counter()
    # Completions are sampled while the orders go out too, not only once they all are out.
    sampler = asyncio.create_task(
        wait_done(stack, prefix, total, timeout=max(120, seconds * 4), since=started)
    )
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
    _, timeline = await sampler
    lat = await latencies(stack, sent)
    return {
        "label": label,
        "rate": round(rate, 1),
        "orders": total,
        "p50_ms": round(percentile(lat, 50), 1),
        "p99_ms": round(percentile(lat, 99), 1),
        "stages": await stages(stack, sent),
        "timeline": timeline,
        "latencies_ms": [round(v, 1) for v in lat],
    }


def signed_webhooks(stack: Stack, count: int) -> list[tuple[dict[str, str], str]]:
    """Webhooks with unique ids and orders, signed beforehand (each is sent once)."""
    prepared = []
    for _ in range(count):
        body = json.dumps(sample_order(order_id=f"W-{uuid.uuid4().hex[:12]}"))
        prepared.append((signed_headers(stack.secrets.webhook_secret, body.encode()), body))
    return prepared


async def http_phase(
    stack: Stack,
    service: str,
    path: str,
    requests: list[tuple[dict[str, str], str]],
    seconds: float,
    connections: int,
    rate: float | None = None,
) -> dict[str, Any]:
    """One wrk run against one service, with the CPU the service and the generator spent.
    The figures are withheld when the generator, not the service, was the limit."""
    before = cpu.snapshot(stack)
    load = await asyncio.to_thread(
        wrk.run, f"{stack.url(service)}{path}", requests, seconds, connections, rate
    )
    after = cpu.snapshot(stack)
    served = after[service] - before[service]
    summary: dict[str, Any] = {
        **load.rate.summary(),
        "percentiles_ms": {str(q): round(v, 2) for q, v in load.rate.points.items() if v == v},
        "connections": connections,
        "generator_busy": round(load.generator_busy, 2),
        "generator_cpu_vs_service_cpu": round(load.generator_cpu_seconds / max(served, 1e-9), 2),
    }
    if rate is not None:
        summary["offered_rate"] = round(rate, 1)
    if load.generator_busy >= 0.9 or load.generator_cpu_seconds > served:
        return {"refused": "the load generator, not the service, was the limit", **summary}
    return summary


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


CONNECTIONS = {"licensing": 64, "ingress": 128}
"""Concurrent connections of each service's HTTP runs, the same for its ceiling. Ingress
answers once Kafka has the order, so a request waits tens of milliseconds and it takes more
requests in flight to keep it busy: concurrent deliveries share one transaction and one
publish."""


async def batching_gain(
    args: argparse.Namespace, var: Path, batched: dict[str, Any]
) -> dict[str, Any]:
    """The same flow on a system whose consumers apply one event per transaction, against the
    run above where a whole fetch is applied in one (the guarantees hold in both)."""
    orders = args.orders // 2
    async with fresh_stack(args, var, {"ENTITLE_CONSUMER_BATCH_MAX": "1"}) as stack:
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


async def durable_broker_cost(
    stack: Stack, messages: int, size: int, memory_produce: float, memory_consume: float
) -> dict[str, Any]:
    """The same raw produce/consume run on a second embedded broker that stores in the
    stack's PostgreSQL: what durable broker storage costs against memory storage."""
    from entitle_dev.broker import EmbeddedBroker, StorageUnsupported
    from entitle_dev.stack import BROKER_DATABASE, free_port

    from services.runtime.db import ensure_database

    await ensure_database(stack.database_url, BROKER_DATABASE + "_bench")
    url = with_database(stack.database_url, BROKER_DATABASE + "_bench")
    broker = EmbeddedBroker(
        free_port(), stack.var / "log" / "durable-broker.log", "postgres" + url[len("postgresql") :]
    )
    try:
        await asyncio.to_thread(broker.start)
    except StorageUnsupported as exc:
        return {"unavailable": str(exc)}
    try:
        produced, consumed = await raw_kafka(broker.bootstrap, messages, size)
    finally:
        broker.stop()
    return {
        "kafka_produce_per_second": round(produced.per_second, 1),
        "kafka_consume_per_second": round(consumed.per_second, 1),
        "produce_vs_memory": round(produced.per_second / memory_produce, 3),
        "consume_vs_memory": round(consumed.per_second / memory_consume, 3),
    }


@contextlib.asynccontextmanager
async def fresh_stack(
    args: argparse.Namespace, var: Path, env: dict[str, str] | None = None
) -> AsyncIterator[Stack]:
    """A whole system of its own (database, broker, services), warmed up. Each order phase
    gets one: the embedded broker keeps its logs in memory and its cost per request grows
    with them, so a phase run after others would measure what they left behind."""
    config = StackConfig.ephemeral(var)
    config.durable_db = not args.fast_db
    config.statement_stats = True
    config.movable_clock = False
    config.extra_env = {"ENTITLE_LOG_LEVEL": "WARNING", **(env or {})}
    stack = Stack(config)
    stack.start_infrastructure()
    try:
        stack.start_services()
        stack.wait_ready(timeout=120)
        with console.status("warming up (consumer groups join)"):
            await end_to_end(stack, 20)
            await wait_quiet(stack)
        yield stack
    finally:
        stack.stop()


async def idle_cpu(stack: Stack, seconds: float) -> dict[str, float]:
    """CPU milliseconds per second of each process with no work at all: the polling (consumer
    fetches, jobs, the relay) that a steady rate pays beside its orders."""
    before = cpu.snapshot(stack)
    await asyncio.sleep(seconds)
    return cpu.per_unit(before, cpu.snapshot(stack), round(seconds))


async def main(args: argparse.Namespace) -> dict[str, Any]:
    var = Path("var/bench") / f"run-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    generator = wrk.ensure()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(),
        "cores": os.cpu_count(),
        "durable_database": not args.fast_db,
        "note": "load generators, broker, database and the services share these cores;"
        " each order phase runs on a fresh system",
        "http_load_generator": generator or "none: HTTP figures not measured",
        "http": {},
    }
    async with fresh_stack(args, var / "limits") as stack:
        with console.status("the system idle"):
            results["idle_cpu_ms_per_second"] = await idle_cpu(stack, args.http_seconds)
        await limits(stack, args, results)
        if generator:
            await http_phases(stack, args, results)
    await order_phases(args, var, results)
    with console.status("end to end again, each consumer applying one event per transaction"):
        results["batching"] = await batching_gain(args, var / "batching", results["end_to_end"])
    results["targets"] = targets(results)
    return results


async def limits(stack: Stack, args: argparse.Namespace, results: dict[str, Any]) -> None:
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
        "postgres_single_row_transactions_per_second": round(raw_db.per_second, 1),
    }
    with console.status("raw broker rates on durable (PostgreSQL) storage"):
        results["limits"]["durable_broker"] = await durable_broker_cost(
            stack, args.raw_messages, len(sample), produced.per_second, consumed.per_second
        )
    if wrk.ensure():
        with console.status("HTTP ceiling: a trivial endpoint on the same server stack"):
            for service, connections in CONNECTIONS.items():
                ceiling = await http_phase(
                    stack, service, "/healthz", [({}, "")], args.http_seconds, connections
                )
                results["http"][f"ceiling_{service}"] = ceiling


async def order_phases(args: argparse.Namespace, var: Path, results: dict[str, Any]) -> None:
    async with fresh_stack(args, var / "end-to-end") as stack:
        with console.status(f"end to end: {args.orders} orders"):
            await statements.reset(stack.database_url)
            before = cpu.snapshot(stack)
            e2e = await end_to_end(stack, args.orders)
            e2e["cpu_ms_per_order"] = cpu.per_unit(before, cpu.snapshot(stack), args.orders)
            counted = await statements.per_database(stack.database_url)
        e2e["statements_per_order"] = {
            name: round(n / args.orders, 2) for name, n in sorted(counted.items())
        }
        e2e["statements_per_order"]["all"] = round(sum(counted.values()) / args.orders, 2)
        with console.status("waiting for every consumer to catch up"):
            e2e["all_consumers_caught_up_after_seconds"] = round(await wait_quiet(stack), 1)
    raw = results["limits"]["postgres_single_row_transactions_per_second"]
    e2e["orders_vs_raw_transactions"] = round(e2e["orders_per_second"] / raw, 4)
    e2e["events_vs_raw_consume"] = round(
        e2e["events_per_second"] / results["limits"]["kafka_consume_per_second"], 4
    )
    results["end_to_end"] = e2e
    hundred = "100/s"
    if e2e["orders_per_second"] <= 100:
        hundred = "100/s: above this machine's capacity, p99 measures the backlog"
    results["fixed_rate"] = []
    for rate, label, folder in (
        (e2e["orders_per_second"] / 2, "half the capacity just measured", "half-rate"),
        (100.0, hundred, "100-per-second"),
    ):
        async with fresh_stack(args, var / folder) as stack:
            results["fixed_rate"].append(await measured_fixed_rate(stack, args, rate, label))


async def measured_fixed_rate(
    stack: Stack, args: argparse.Namespace, rate: float, label: str
) -> dict[str, Any]:
    """A fixed-rate phase with the CPU and statements it cost per order; then the consumers
    catch up before the next phase."""
    with console.status(f"fixed rate: {rate:.0f}/s for {args.rate_seconds}s ({label})"):
        await statements.reset(stack.database_url)
        before = cpu.snapshot(stack)
        phase = await fixed_rate(stack, rate, args.rate_seconds, label)
        # Per order at a steady rate, where fetches are small: the cost that is fixed per
        # transaction or per poll shows here and not in the burst.
        phase["cpu_ms_per_order"] = cpu.per_unit(before, cpu.snapshot(stack), phase["orders"])
        counted = await statements.per_database(stack.database_url)
        phase["statements_per_order"] = round(sum(counted.values()) / phase["orders"], 2)
        await wait_quiet(stack)
    return phase


async def http_phases(stack: Stack, args: argparse.Namespace, results: dict[str, Any]) -> None:
    http = results["http"]
    seconds = args.http_seconds
    with console.status("webhook ingress, the other services paused"):
        # What ingress itself absorbs: the broker decouples it from processing, which
        # catches up afterwards (measured next, with everything running).
        with paused(stack, CONSUMERS):
            http["ingress"] = await http_phase(
                stack, "ingress", "/webhooks/orders", signed_webhooks(stack, 4000 * round(seconds)),
                seconds, CONNECTIONS["ingress"],
            )  # fmt: skip
        await wait_quiet(stack)
    with console.status("webhook ingress while the orders are processed"):
        http["ingress_with_processing"] = await http_phase(
            stack, "ingress", "/webhooks/orders", signed_webhooks(stack, 4000 * round(seconds)),
            seconds, CONNECTIONS["ingress"],
        )  # fmt: skip
    await wait_quiet(stack)
    with console.status(f"license validation over {args.licenses} licenses"):
        keys = await seed_licenses(stack, args.licenses)
        requests = [({}, json.dumps({"key": key, "version": "5.1.0"})) for key in keys[:20_000]]
        path = "/licenses/validate"
        http["validation"] = await http_phase(
            stack, "licensing", path, requests, seconds, CONNECTIONS["licensing"]
        )
        half = http["validation"]["per_second"] / 2
        http["validation_at_half_rate"] = await http_phase(
            stack, "licensing", path, requests, seconds, 32, rate=half
        )


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target beside the figure, as a ratio to a limit measured in the same run."""
    e2e, http = results.get("end_to_end", {}), results.get("http", {})

    def share(name: str, ceiling: str) -> float | None:
        if "refused" in http.get(name, {"refused": 1}) or "refused" in http.get(ceiling, {}):
            return None
        return round(http[name]["per_second"] / http[ceiling]["per_second"], 3)

    half = [p for p in results.get("fixed_rate", []) if p["label"].startswith("half")]
    at_half = http.get("validation_at_half_rate", {})
    return [
        {"figure": "end-to-end orders/s / raw single-row transactions/s",
         "value": e2e.get("orders_vs_raw_transactions"), "target": ">= 0.10"},
        {"figure": "CPU ms per order, all processes", "value": e2e.get("cpu_ms_per_order", {})
         .get("all processes"), "target": "half of ~19 (2,400 tx/s machine) / ~4.8 (10k tx/s)"},
        {"figure": "validation requests/s / HTTP ceiling",
         "value": share("validation", "ceiling_licensing"), "target": ">= 0.5"},
        {"figure": "validation p99 at half the maximum rate, ms",
         "value": None if "refused" in at_half else at_half.get("p99_ms"), "target": "<= 20"},
        {"figure": "ingress signed requests/s / HTTP ceiling",
         "value": share("ingress", "ceiling_ingress"), "target": ">= 0.3"},
        {"figure": "p99 end to end at half capacity, ms",
         "value": half[0]["p99_ms"] if half else None, "target": "<= 250"},
    ]  # fmt: skip


def report(results: dict[str, Any]) -> None:
    table = Table(title=f"Entitle benchmark ({results['cores']} cores)")
    for column in ("measure", "value"):
        table.add_column(column)
    table.add_row("idle CPU ms per second", json.dumps(results.get("idle_cpu_ms_per_second")))
    for section in ("limits", "end_to_end", "batching"):
        for name, value in results.get(section, {}).items():
            if name not in ("timeline", "latencies_ms"):
                table.add_row(f"{section}.{name}", json.dumps(value))
    for phase in results.get("fixed_rate", []):
        table.add_row(
            f"fixed_rate {phase['rate']}/s ({phase['label']})",
            f"p50 {phase['p50_ms']} ms, p99 {phase['p99_ms']} ms,"
            f" CPU {phase['cpu_ms_per_order']['all processes']} ms/order,"
            f" {phase['statements_per_order']} statements/order; stages "
            + ", ".join(
                f"{n} p50 {v['p50_ms']} p99 {v['p99_ms']}" for n, v in phase["stages"].items()
            ),
        )
    table.add_row("http load generator", str(results["http_load_generator"]))
    for name, summary in results.get("http", {}).items():
        shown = {k: v for k, v in summary.items() if k != "percentiles_ms"}
        table.add_row(f"http.{name}", json.dumps(shown))
    console.print(table)
    goals = Table(title="Targets (ratios to limits measured in this run)")
    for column in ("figure", "value", "target"):
        goals.add_column(column)
    for row in results["targets"]:
        value = "not measured" if row["value"] is None else str(row["value"])
        goals.add_row(row["figure"], value, row["target"])
    console.print(goals)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small numbers, a smoke run")
    parser.add_argument("--orders", type=int, default=10_000)
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
    picture = chart.draw(outcome, out.with_suffix(".png"))
    console.print(f"written to {out} and {picture}")
