"""Commands on topics and dead letters: `topics`, `tail`, `dlt list|show|replay`."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import asyncpg
import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.table import Table

from services.runtime.dead_letters import list_dead_letters

from .connect import (
    BootstrapOption,
    DatabaseOption,
    JsonOption,
    NameOption,
    PrefixOption,
    ServiceOption,
    console,
    kafka_connection,
    service_database_url,
)

app = typer.Typer()
dlt_app = typer.Typer(help="Dead letters: list, show and replay.", no_args_is_help=True)
app.add_typer(dlt_app, name="dlt")

T = TypeVar("T")


@contextlib.asynccontextmanager
async def _pool(url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        yield pool
    finally:
        await pool.close()


def _with_pool(url: str, work: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    async def run() -> T:
        async with _pool(url) as pool:
            return await work(pool)

    return asyncio.run(run())


@dlt_app.command("list")
def dlt_list(
    service: ServiceOption,
    database_url: DatabaseOption = None,
    database: NameOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Also those already replayed.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Dead letters of a service's consumer: where each came from and why it failed."""
    letters = _with_pool(
        service_database_url(service, database_url, database),
        lambda pool: list_dead_letters(pool, include_replayed=all_),
    )
    if as_json:
        typer.echo(json.dumps([d.__dict__ for d in letters], indent=2, default=str))
        return
    table = Table(title=f"dead letters of {service}")
    for column in ("id", "from", "event", "error", "at", "replayed"):
        table.add_column(column)
    for d in letters:
        table.add_row(
            str(d.id),
            f"{d.topic}[{d.partition}]@{d.offset}",
            f"{d.event_type or '?'} {d.event_id or ''}",
            f"{d.error_class}: {d.error_message[:80]}",
            f"{d.created_at:%Y-%m-%d %H:%M:%S}",
            f"{d.replayed_at:%Y-%m-%d %H:%M:%S}" if d.replayed_at else "",
        )
    console.print(table)


@dlt_app.command("show")
def dlt_show(
    dead_letter_id: Annotated[int, typer.Argument(help="Id from `entitle dlt list`.")],
    service: ServiceOption,
    database_url: DatabaseOption = None,
    database: NameOption = None,
) -> None:
    """One dead letter in full: origin, error, headers and the record's value."""
    from services.runtime.dead_letters import show_dead_letter, shown

    found = _with_pool(
        service_database_url(service, database_url, database),
        lambda pool: show_dead_letter(pool, dead_letter_id),
    )
    if found is None:
        console.print(f"[red]no dead letter {dead_letter_id} in {service}[/red]")
        raise typer.Exit(1)
    typer.echo(json.dumps(shown(*found), indent=2, default=str))


@dlt_app.command("replay")
def dlt_replay(
    service: ServiceOption,
    ids: Annotated[list[int] | None, typer.Argument(help="Dead letter ids; none: all.")] = None,
    database_url: DatabaseOption = None,
    database: NameOption = None,
    bootstrap: BootstrapOption = None,
    topic_prefix: PrefixOption = "",
) -> None:
    """Publish dead letters to their original topic again (each once)."""
    from aiokafka import AIOKafkaProducer

    from services.runtime.dead_letters import replay

    connection = kafka_connection(bootstrap)

    async def run(pool: asyncpg.Pool) -> list[int]:
        producer = AIOKafkaProducer(**connection, acks="all")
        await producer.start()
        try:
            return await replay(
                pool, producer, ids=ids or None, topic_prefix=topic_prefix, now=datetime.now(UTC)
            )
        finally:
            await producer.stop()

    done = _with_pool(service_database_url(service, database_url, database), run)
    console.print(f"replayed {len(done)} dead letter(s): {', '.join(map(str, done)) or '-'}")


@app.command()
def topics(
    bootstrap: BootstrapOption = None, topic_prefix: PrefixOption = "", as_json: JsonOption = False
) -> None:
    """The topic catalog with each topic's partitions, records and every consumer group's lag
    (records not yet processed)."""
    from entitle_events import types_on_topic
    from entitle_events.topics import TOPICS

    from .docs import definitions

    consumers = {
        name: [d.name for d in definitions() if name in d.subscriptions.topics] for name in TOPICS
    }
    live = asyncio.run(_topic_state(kafka_connection(bootstrap), topic_prefix, consumers))
    if as_json:
        listed = [
            {
                "topic": name,
                "owner": topic.owner,
                "key": topic.key,
                "events": types_on_topic(name),
                "partitions": live[name][0],
                "records": live[name][1],
                "lag": live[name][2],
            }
            for name, topic in TOPICS.items()
        ]
        typer.echo(json.dumps(listed, indent=2))
        return
    table = Table(title="Entitle topics")
    for column in ("topic", "owner", "key", "events", "partitions", "records", "lag by group"):
        table.add_column(column)
    for name, topic in TOPICS.items():
        partitions, records, lag = live[name]
        kinds = ", ".join(t.split(".", 2)[2] for t in types_on_topic(name))
        lags = ", ".join(f"{group}: {behind}" for group, behind in lag.items()) or "-"
        table.add_row(name, topic.owner, topic.key, kinds, str(partitions), str(records), lags)
    console.print(table)


async def _topic_state(
    connection: dict[str, Any], prefix: str, consumers: dict[str, list[str]]
) -> dict[str, tuple[int, int, dict[str, int]]]:
    catalog = AIOKafkaConsumer(**connection)
    await catalog.start()
    try:
        await catalog.topics()  # fetches the cluster's metadata
        state: dict[str, tuple[int, int, dict[str, int]]] = {}
        for name, groups in consumers.items():
            partitions = catalog.partitions_for_topic(prefix + name) or set()
            tps = [TopicPartition(prefix + name, p) for p in partitions]
            ends = await catalog.end_offsets(tps) if tps else {}
            lag = {group: await _lag(connection, group, ends) for group in groups} if tps else {}
            state[name] = (len(tps), sum(ends.values()), lag)
        return state
    finally:
        await catalog.stop()


async def _lag(connection: dict[str, Any], group: str, ends: dict[TopicPartition, int]) -> int:
    """Records behind the group's committed offsets, as the services report them."""
    from services.runtime.lag import group_lag

    reader = AIOKafkaConsumer(**connection, group_id=group)
    await reader.start()
    try:
        return sum((await group_lag(reader, sorted({tp.topic for tp in ends}))).values())
    finally:
        await reader.stop()


@app.command()
def tail(
    topic: Annotated[str, typer.Argument(help="e.g. licensing.licenses")],
    bootstrap: BootstrapOption = None,
    topic_prefix: PrefixOption = "",
    event_type: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    subject: Annotated[str | None, typer.Option(help="Only this subject (key).")] = None,
    from_beginning: Annotated[bool, typer.Option("--from-beginning")] = False,
    limit: Annotated[int | None, typer.Option(help="Stop after this many events.")] = None,
) -> None:
    """Print the topic's events, decoded, as they arrive (Ctrl-C stops)."""
    from entitle_events import EventDecodeError, decode

    connection = kafka_connection(bootstrap)

    async def run() -> None:
        consumer = AIOKafkaConsumer(
            topic_prefix + topic,
            **connection,
            auto_offset_reset="earliest" if from_beginning else "latest",
            enable_auto_commit=False,
        )
        await consumer.start()
        shown = 0
        try:
            async for record in consumer:
                try:
                    event = decode(record.headers, record.value)
                except EventDecodeError as exc:
                    console.print(f"[red]undecodable record at offset {record.offset}: {exc}[/red]")
                    continue
                if (event_type and event_type not in event.type) or (
                    subject and event.subject != subject
                ):
                    continue
                typer.echo(event.model_dump_json())
                shown += 1
                if limit is not None and shown >= limit:
                    return
        finally:
            await consumer.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
