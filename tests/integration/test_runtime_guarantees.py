"""The runtime's delivery guarantees against a real broker and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from entitle_cli.main import app
from entitle_dev.postgres import EmbeddedPostgres
from entitle_dev.stack import free_port
from entitle_events import decode, encode
from entitle_events.kafka import header
from typer.testing import CliRunner

from services.runtime import db
from services.runtime.lag import group_lag
from services.runtime.outbox import OutboxRecord, OutboxRelay, stage
from services.runtime.service import Runtime
from services.runtime.settings import RuntimeSettings
from tests.conftest import settings_for, unique
from tests.helpers import eventually, order_event
from tests.infra import Infra

from .kafka_tools import produce, produce_events, read_all
from .outbox_tools import outbox
from .probe_service import probe_definition


@pytest.fixture
async def probe(infra: Infra) -> AsyncIterator[Runtime]:
    runtime = Runtime(probe_definition(settings_for(infra, RuntimeSettings)))
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


def orders_topic(runtime: Runtime) -> str:
    return runtime.settings.kafka_topic_prefix + "commerce.orders"


async def effects(runtime: Runtime) -> Counter[str]:
    rows = await runtime.pool.fetch("select order_id from effects")
    return Counter(r["order_id"] for r in rows)


async def test_two_relays_publish_every_outbox_row_exactly_once(infra: Infra) -> None:
    events = [order_event() for _ in range(600)]
    async with outbox(infra, "relay", partitions=4, producers=2) as box:
        async with box.pool.acquire() as conn, conn.transaction():
            await stage(conn, [OutboxRecord(box.topic, *encode(e)) for e in events])
        stop = asyncio.Event()
        relays = [OutboxRelay(box.pool, p, dsn=box.dsn, batch_max=50) for p in box.producers]
        tasks = [asyncio.create_task(r.run(stop)) for r in relays]
        await eventually(lambda: _outbox_empty(box.pool), timeout=60)
        stop.set()
        await asyncio.gather(*tasks)
    published = Counter(
        header(r.headers, "ce_id") for r in await read_all(infra.bootstrap, box.topic)
    )
    assert set(published) == {str(e.id) for e in events}
    assert set(published.values()) == {1}


async def test_the_relay_wakes_for_other_processes_commits_and_not_for_rows_it_published(
    infra: Infra,
) -> None:
    """Commits wake the relay through LISTEN (the poll here is five minutes); a wake-up that
    names a row the relay has already published (it was woken directly) is not run again."""
    async with outbox(infra, "wake", partitions=1) as box:
        relay = OutboxRelay(box.pool, box.producers[0], dsn=box.dsn, poll_interval=300)
        runs = 0
        publish = relay.publish_batch

        async def counted() -> int:
            nonlocal runs
            runs += 1
            return await publish()

        relay.publish_batch = counted  # type: ignore[method-assign]
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        try:
            await asyncio.sleep(2)  # the first run, and the listener connected
            for _ in range(3):  # as another process would: its own transactions
                async with box.pool.acquire() as conn, conn.transaction():
                    await stage(conn, [OutboxRecord(box.topic, *encode(order_event()))])
            await eventually(lambda: _outbox_empty(box.pool), timeout=20)
            await asyncio.sleep(1)
            before = runs
            last = await box.pool.fetchval("select last_value from outbox_id_seq")  # published
            await box.pool.execute("select pg_notify('entitle_outbox', $1)", str(last))
            await asyncio.sleep(1.5)
            assert runs == before
            await box.pool.execute("select pg_notify('entitle_outbox', '')")
            await eventually(lambda: _runs_above(lambda: runs, before), timeout=10)
        finally:
            stop.set()
            await task
        assert len(await read_all(infra.bootstrap, box.topic)) == 3


async def test_a_request_waiting_for_its_row_is_answered_whichever_copy_publishes_it(
    infra: Infra,
) -> None:
    """A waiter is answered when its own relay publishes the row, and also when another
    copy of the service (another relay on the same outbox) does; a row nobody publishes
    makes it wait out its timeout."""
    async with outbox(infra, "waiters", partitions=1, producers=2) as box:
        own, other = (
            OutboxRelay(box.pool, p, dsn=box.dsn, poll_interval=300) for p in box.producers
        )

        async def staged() -> int:
            async with box.pool.acquire() as conn, conn.transaction():
                [outbox_id] = await stage(conn, [OutboxRecord(box.topic, *encode(order_event()))])
            return int(outbox_id)

        first = await staged()
        waiting = asyncio.create_task(own.wait_published(first, 30))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        assert await own.publish_batch() == 1
        assert await asyncio.wait_for(waiting, 1)

        second = await staged()
        waiting = asyncio.create_task(own.wait_published(second, 30))
        await asyncio.sleep(0.2)
        assert await other.publish_batch() == 1  # the own relay never runs
        assert await asyncio.wait_for(waiting, 2)

        never = await staged()
        assert not await own.wait_published(never, 0.5)


async def _runs_above(runs: Callable[[], int], count: int) -> bool:
    return runs() > count


async def _outbox_empty(pool: asyncpg.Pool) -> bool:
    return await pool.fetchval("select count(*) from outbox") == 0


async def test_an_event_delivered_twice_is_applied_once(probe: Runtime, infra: Infra) -> None:
    event = order_event()
    await produce_events(infra.bootstrap, orders_topic(probe), [event, event])
    later = order_event()  # consumed after both copies: proves the duplicate was passed
    await produce_events(infra.bootstrap, orders_topic(probe), [later])
    await eventually(lambda: _has(probe, later.data.order_id))
    counts = await effects(probe)
    assert counts[event.data.order_id] == 1
    inbox = await probe.pool.fetchval("select count(*) from inbox where event_id = $1", event.id)
    assert inbox == 1


async def _has(runtime: Runtime, order_id: str) -> bool:
    return (await effects(runtime))[order_id] >= 1


async def test_permanent_failures_go_to_the_dead_letter_topic_and_the_next_event_is_processed(
    probe: Runtime, infra: Infra
) -> None:
    topic = orders_topic(probe)
    key = b"same-partition"
    good_before, good_after = order_event(), order_event()
    rule_breaker = order_event(f"PERM-{uuid.uuid4().hex[:6]}")
    buggy = order_event(f"BUG-{uuid.uuid4().hex[:6]}")
    _, unknown_value, unknown_headers = encode(order_event())
    unknown_headers = [
        (k, b"entitle.commerce.order.teleported.v1" if k == "ce_type" else v)
        for k, v in unknown_headers
    ]
    records = [
        (key, encode(good_before)[1], encode(good_before)[2]),
        (key, b"{not json", [("ce_type", b"entitle.commerce.order.placed.v1")]),
        (key, unknown_value, unknown_headers),
        (key, encode(rule_breaker)[1], encode(rule_breaker)[2]),
        (key, encode(buggy)[1], encode(buggy)[2]),
        (key, encode(good_after)[1], encode(good_after)[2]),
    ]
    await produce(infra.bootstrap, topic, records)
    await eventually(lambda: _has(probe, good_after.data.order_id), timeout=60)
    counts = await effects(probe)
    assert counts[good_before.data.order_id] == 1
    assert rule_breaker.data.order_id not in counts and buggy.data.order_id not in counts

    dlt = f"{topic}.{probe.settings.consumer_group}.dlt"
    dead = await eventually(lambda: _read_n(infra.bootstrap, dlt, 4), timeout=30)
    classes = sorted(header(r.headers, "dlt_error_class") or "" for r in dead)
    assert classes == ["InvalidEvent", "RULE_VIOLATED", "RuntimeError", "UnknownEventType"]
    for record in dead:
        assert header(record.headers, "dlt_original_topic") == topic
        assert header(record.headers, "dlt_consumer_group") == probe.settings.consumer_group
        assert header(record.headers, "dlt_original_offset") is not None
        assert header(record.headers, "dlt_error_message")
    rule = next(r for r in dead if header(r.headers, "dlt_error_class") == "RULE_VIOLATED")
    assert decode(rule.headers, rule.value).id == rule_breaker.id  # the original, untouched
    stored = await probe.pool.fetchval("select count(*) from dead_letters")
    assert stored == 4


async def test_a_failing_record_holds_back_only_its_partition_and_is_tried_a_fixed_number_of_times(
    probe: Runtime, infra: Infra
) -> None:
    """One path applies every batch: the buggy record is tried exactly
    `unexpected_error_attempts` times whatever else its batches held, the records of every
    partition are applied once, and those behind it in its own partition after it is
    dead-lettered."""
    topic = orders_topic(probe)
    buggy = order_event(f"BUG-{uuid.uuid4().hex[:6]}")
    behind = order_event()
    others = [order_event() for _ in range(40)]
    retries = _sample("entitle_consumer_retries_total")
    records = [(b"bug-key", *encode(buggy)[1:]), (b"bug-key", *encode(behind)[1:])]
    records += [(uuid.uuid4().hex.encode(), *encode(e)[1:]) for e in others]
    await produce(infra.bootstrap, topic, records)
    await eventually(lambda: _has(probe, behind.data.order_id), timeout=60)
    await eventually(lambda: _all_applied(probe, others), timeout=60)
    counts = await effects(probe)
    assert all(counts[e.data.order_id] == 1 for e in [*others, behind])
    assert buggy.data.order_id not in counts
    dead = await probe.pool.fetch("select error_class from dead_letters")
    assert [r["error_class"] for r in dead] == ["RuntimeError"]
    attempts = probe.settings.unexpected_error_attempts
    assert _sample("entitle_consumer_retries_total") - retries == attempts - 1


def _sample(name: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name) or 0.0


async def _all_applied(runtime: Runtime, events: list[Any]) -> bool:
    counts = await effects(runtime)
    return all(counts[e.data.order_id] >= 1 for e in events)


async def _read_n(bootstrap: str, topic: str, n: int) -> list[object] | None:
    records = await read_all(bootstrap, topic)
    return records if len(records) >= n else None


async def test_a_database_outage_is_retried_without_loss_or_duplicates(
    infra: Infra, servers_dir: Path
) -> None:
    postgres = EmbeddedPostgres(servers_dir / "pg", free_port(), durable=False)
    postgres.start()
    settings = settings_for(
        Infra(postgres.url, infra.bootstrap, infra.idempotence), RuntimeSettings
    )
    runtime = Runtime(probe_definition(settings))
    await runtime.start()
    try:
        events = [order_event() for _ in range(300)]
        await produce_events(infra.bootstrap, orders_topic(runtime), events[:100])
        await eventually(lambda: _count_at_least(runtime, 20), timeout=60)
        postgres.stop()  # mid-stream: transactions in flight fail
        await produce_events(infra.bootstrap, orders_topic(runtime), events[100:])
        await asyncio.sleep(2)
        postgres.start()
        await eventually(lambda: _count_at_least(runtime, 300), timeout=120)
        await asyncio.sleep(1)
        counts = await effects(runtime)
        assert set(counts) == {e.data.order_id for e in events}
        assert set(counts.values()) == {1}
        # Every effect's event went out through the outbox, none lost.
        await eventually(lambda: _outbox_empty(runtime.pool), timeout=60)
        refunds = {
            decode(r.headers, r.value).data.order_id
            for r in await read_all(infra.bootstrap, orders_topic(runtime))
            if header(r.headers, "ce_type") == "entitle.commerce.order.refunded.v1"
        }
        assert refunds == set(counts)
    finally:
        await runtime.stop()
        postgres.stop()


async def _count_at_least(runtime: Runtime, n: int) -> bool:
    try:
        return sum((await effects(runtime)).values()) >= n
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False


async def test_a_replayed_dead_letter_is_processed_once_and_replaying_twice_changes_nothing(
    probe: Runtime, infra: Infra
) -> None:
    event = order_event()
    order_id = event.data.order_id
    await probe.pool.execute("insert into blocked values ($1)", order_id)
    await produce_events(infra.bootstrap, orders_topic(probe), [event])

    async def dead_lettered() -> int:
        return int(await probe.pool.fetchval("select count(*) from dead_letters"))

    await eventually(dead_lettered)
    await probe.pool.execute("delete from blocked")  # the cause is fixed
    s = probe.settings
    cli = CliRunner()
    args = ["--service", "probe", "--database-url", s.database_url, "--database", s.database_name]
    listed = await asyncio.to_thread(cli.invoke, app, ["dlt", "list", *args])
    assert listed.exit_code == 0 and "BLOCKED" in listed.output
    letter_id = await probe.pool.fetchval("select id from dead_letters")
    as_json = await asyncio.to_thread(cli.invoke, app, ["dlt", "list", "--json", *args])
    [letter] = json.loads(as_json.output)
    assert (letter["id"], letter["error_class"], letter["event_id"]) == (
        letter_id,
        "BLOCKED",
        str(event.id),
    )
    shown = await asyncio.to_thread(cli.invoke, app, ["dlt", "show", str(letter_id), *args])
    assert shown.exit_code == 0, shown.output
    detail = json.loads(shown.output)
    assert detail["error_class"] == "BLOCKED" and detail["event_id"] == str(event.id)
    assert detail["headers"]["ce_type"] == event.type
    assert detail["value"]["order_id"] == order_id
    missing = await asyncio.to_thread(cli.invoke, app, ["dlt", "show", "999999", *args])
    assert missing.exit_code == 1
    replay_args = [*args, "--bootstrap", s.kafka_bootstrap, "--topic-prefix", s.kafka_topic_prefix]
    first = await asyncio.to_thread(cli.invoke, app, ["dlt", "replay", *replay_args])
    assert "replayed 1 dead letter" in first.output, first.output
    second = await asyncio.to_thread(cli.invoke, app, ["dlt", "replay", *replay_args])
    assert "replayed 0 dead letter" in second.output
    await eventually(lambda: _has(probe, order_id))
    await produce_events(infra.bootstrap, orders_topic(probe), [event])  # and once more
    later = order_event()
    await produce_events(infra.bootstrap, orders_topic(probe), [later])
    await eventually(lambda: _has(probe, later.data.order_id))
    assert (await effects(probe))[order_id] == 1


async def test_topics_and_tail_show_what_is_on_the_broker(probe: Runtime, infra: Infra) -> None:
    events = [order_event() for _ in range(3)]
    await produce_events(infra.bootstrap, orders_topic(probe), events)
    prefix = probe.settings.kafka_topic_prefix
    cli = CliRunner()
    args = ["--bootstrap", infra.bootstrap, "--topic-prefix", prefix]
    listed = await asyncio.to_thread(cli.invoke, app, ["topics", *args], env={"COLUMNS": "240"})
    assert listed.exit_code == 0, listed.output
    assert "commerce.orders" in listed.output and "order.placed" in listed.output
    subject = events[1].subject
    tailed = await asyncio.to_thread(
        cli.invoke,
        app,
        [
            "tail",
            "commerce.orders",
            *args,
            "--from-beginning",
            "--subject",
            subject,
            "--limit",
            "1",
        ],
    )
    assert tailed.exit_code == 0, tailed.output
    assert json.loads(tailed.output.strip())["subject"] == subject


async def test_a_connection_asyncpg_lost_track_of_is_closed_not_handed_out_again(
    infra: Infra,
) -> None:
    """asyncpg sometimes reports a session the server ended mid-transaction as
    `InternalClientError` instead of a closed connection; the pool must not reuse it."""
    name = unique("lost")
    await db.ensure_database(infra.database_url, name)
    pool = await db.create_pool(db.with_database(infra.database_url, name), 2)

    async def lost_track() -> None:
        raise asyncpg.InternalClientError("cannot switch to state 15; another operation")

    try:
        async with pool.acquire() as conn:
            broken = conn._con  # type: ignore[attr-defined]
            backend = await conn.fetchval("select pg_backend_pid()")
            with pytest.raises(asyncpg.InternalClientError):
                await broken._closing_when_lost(lost_track())
            assert broken.is_closed()
        for _ in range(3):
            async with pool.acquire() as conn:
                assert await conn.fetchval("select pg_backend_pid()") != backend
    finally:
        await pool.close()


async def test_a_batch_handler_gets_each_run_at_once_and_failures_are_found_event_by_event(
    infra: Infra,
) -> None:
    """Consecutive events of a batch handler reach it together; when a run fails, the batch
    is applied again event by event, so the one that breaks a rule is dead-lettered and the
    others are applied once, each with its own emitted event."""
    batches: list[int] = []
    runtime = Runtime(probe_definition(settings_for(infra, RuntimeSettings), batches))
    await runtime.start()
    try:
        topic = orders_topic(runtime)
        events = [order_event() for _ in range(60)]
        rule_breaker = order_event(f"PERM-{uuid.uuid4().hex[:6]}")
        records = [(b"one-key", *encode(e)[1:]) for e in [*events[:30], rule_breaker]]
        records += [(b"one-key", *encode(e)[1:]) for e in events[30:]]
        await produce(infra.bootstrap, topic, records)
        await eventually(lambda: _all_applied(runtime, events), timeout=60)
        counts = await effects(runtime)
        assert all(counts[e.data.order_id] == 1 for e in events)
        assert rule_breaker.data.order_id not in counts
        assert max(batches) > 1  # applied together, not one transaction each
        dead = await runtime.pool.fetch("select error_class from dead_letters")
        assert [r["error_class"] for r in dead] == ["RULE_VIOLATED"]
        await eventually(lambda: _outbox_empty(runtime.pool), timeout=60)
        refunds = [
            decode(r.headers, r.value)
            for r in await read_all(infra.bootstrap, topic)
            if header(r.headers, "ce_type") == "entitle.commerce.order.refunded.v1"
        ]
        by_cause = {refund.causationid: refund.data.order_id for refund in refunds}
        assert by_cause == {str(e.id): e.data.order_id for e in events}
    finally:
        await runtime.stop()


async def test_a_consumer_lingers_for_records_that_arrive_just_after_a_small_fetch(
    infra: Infra,
) -> None:
    """With a linger, records that arrive within it after a fetch are applied in the same
    transaction as that fetch (the linger here is long so that arrival times cannot race)."""
    batches: list[int] = []
    settings = settings_for(infra, RuntimeSettings, consumer_linger_ms=4000)
    runtime = Runtime(probe_definition(settings, batches))
    await runtime.start()
    try:
        assert runtime.consumer is not None
        await asyncio.wait_for(runtime.consumer.assigned.wait(), 60)
        topic = orders_topic(runtime)
        first, *later = [order_event() for _ in range(6)]
        await produce(infra.bootstrap, topic, [(b"one-key", *encode(first)[1:])])
        await asyncio.sleep(1.5)  # the first is fetched alone, well before the others come
        await produce(infra.bootstrap, topic, [(b"one-key", *encode(e)[1:]) for e in later])
        await eventually(lambda: _all_applied(runtime, [first, *later]), timeout=60)
        assert batches == [6]
    finally:
        await runtime.stop()


async def test_offsets_are_committed_as_soon_as_fetches_come_back_empty(infra: Infra) -> None:
    """While records keep coming, offsets are committed at most once per interval (here a
    minute); once a fetch comes back empty, what was applied is committed at once."""
    settings = settings_for(infra, RuntimeSettings, consumer_commit_interval_ms=60_000)
    runtime = Runtime(probe_definition(settings))
    await runtime.start()
    reader = AIOKafkaConsumer(
        bootstrap_servers=infra.bootstrap,
        group_id=settings.consumer_group,
        enable_auto_commit=False,
    )
    await reader.start()
    try:
        assert runtime.consumer is not None
        await asyncio.wait_for(runtime.consumer.assigned.wait(), 60)
        topic = orders_topic(runtime)
        first = order_event()
        await produce_events(infra.bootstrap, topic, [first])
        await eventually(lambda: _all_applied(runtime, [first]), timeout=60)
        later = [order_event() for _ in range(11)]  # applied within the minute after the first
        await produce_events(infra.bootstrap, topic, later)
        await eventually(lambda: _all_applied(runtime, later), timeout=60)

        async def nothing_left() -> bool:
            return sum((await group_lag(reader, [topic])).values()) == 0

        await eventually(nothing_left, timeout=10)
    finally:
        await reader.stop()
        await runtime.stop()
