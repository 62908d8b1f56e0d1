"""The `entitle` command."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Entitle: licenses, maintenance and support for software vendors.", no_args_is_help=True
)
keys_app = typer.Typer(help="Signing keys for license keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
console = Console()

SERVICE_NAMES = ("ingress", "licensing", "maintenance", "ticketing", "notification")


@app.command()
def serve(service: Annotated[str, typer.Argument(help="|".join(SERVICE_NAMES))]) -> None:
    """Run one service: its consumer, outbox relay, jobs and HTTP API."""
    import uvicorn

    from services.runtime.http import create_app
    from services.runtime.logs import configure as configure_logs

    definition = _definition(service)
    settings = definition.settings
    configure_logs(definition.name, settings.log_level, settings.log_json)
    uvicorn.run(
        create_app(definition),
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        log_config=None,  # keep the structured handler configured above
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=20,
    )


def _definition(service: str):  # type: ignore[no-untyped-def]
    if service == "ingress":
        from services.ingress.bootstrap import build as build_ingress

        return build_ingress()
    if service == "licensing":
        from services.licensing.bootstrap import build as build_licensing

        return build_licensing()
    if service == "maintenance":
        from services.maintenance.bootstrap import build as build_maintenance

        return build_maintenance()
    if service == "ticketing":
        from services.ticketing.bootstrap import build as build_ticketing

        return build_ticketing()
    if service == "notification":
        from services.notification.bootstrap import build as build_notification

        return build_notification()
    raise typer.BadParameter(f"unknown service {service!r}; one of {', '.join(SERVICE_NAMES)}")


@app.command()
def dev(
    var: Annotated[Path, typer.Option(help="Where data, logs, mail and dev.json go.")] = Path(
        "var"
    ),
    pg_port: Annotated[int, typer.Option(help="Embedded PostgreSQL port.")] = 5432,
) -> None:
    """Start everything on this machine: PostgreSQL, the broker, SMTP capture, five services."""
    from services.devstack.stack import Stack, StackConfig, free_port
    from services.runtime.settings import DEFAULT_PORTS

    stack = Stack(StackConfig(var_dir=var, pg_port=pg_port))
    stack.stop_leftovers()
    if not _port_free(pg_port):
        stack.config.pg_port = free_port()
    for name, port in {"broker": 9092, "smtp capture": 2525, **DEFAULT_PORTS}.items():
        if not _port_free(port):
            console.print(f"[red]port {port} ({name}) is in use[/red]: stop what holds it first")
            raise typer.Exit(1)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # also when started in the background
        signal.signal(signum, lambda *_: stopping.set())
    started = time.monotonic()
    try:
        with console.status("starting PostgreSQL, broker and SMTP capture") as status:
            stack.start_infrastructure()
            status.update("starting the five services")
            stack.start_services()
            stack.wait_ready(timeout=90, cancelled=stopping.is_set)
        info = stack.describe()
        (stack.var / "dev.json").write_text(json.dumps(info, indent=2) + "\n")
        _summary(info, time.monotonic() - started, stack.var / "dev.json")
        while not stopping.is_set():
            stopping.wait(0.5)
            for name, process in list(stack.processes.items()):
                if process.poll() is not None:
                    console.print(
                        f"[red]{name} exited[/red]; see {stack.var / 'log' / (name + '.log')}"
                    )
                    stack.processes.pop(name)
    except KeyboardInterrupt:
        pass
    except RuntimeError as exc:
        console.print(f"[red]could not start:[/red] {exc}")
        raise typer.Exit(1) from exc
    finally:
        with console.status("stopping"):
            stack.stop()
        console.print("stopped")


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _summary(info: dict[str, object], seconds: float, path: Path) -> None:
    table = Table(title=f"Entitle is running (ready in {seconds:.1f}s)")
    table.add_column("what")
    table.add_column("where")
    services = info["services"]
    assert isinstance(services, dict)
    for name, url in services.items():
        table.add_row(name, f"{url}  (docs: {url}/docs)")
    table.add_row("kafka", str(info["kafka_bootstrap"]))
    table.add_row("postgres", str(info["database_url"]))
    table.add_row("smtp capture", f"{info['smtp']} -> {info['mail_dir']}")
    console.print(table)
    console.print(f"Webhook secret, admin API key and more: [bold]{path}[/bold]")
    console.print("Send sample orders with [bold]entitle demo[/bold]; stop with Ctrl-C.")


@app.command()
def demo(
    var: Annotated[Path, typer.Option(help="The folder `entitle dev` writes to.")] = Path("var"),
    orders: Annotated[int, typer.Option(min=1, max=100)] = 1,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the emails.")] = 30,
) -> None:
    """Send signed sample orders to the running stack and show what came out."""
    from services.cli.webhook_client import post_order, sample_order

    info_path = var / "dev.json"
    if not info_path.exists():
        console.print(f"[red]{info_path} not found[/red]: start the stack with `make run` first")
        raise typer.Exit(1)
    info = json.loads(info_path.read_text())
    try:
        httpx.get(f"{info['services']['ingress']}/healthz", timeout=2)
    except httpx.TransportError:
        console.print("[red]the stack is not running[/red]: start it with `make run` first")
        raise typer.Exit(1) from None
    headers = {"authorization": f"Bearer {info['admin_api_key']}"}
    sent = []
    with httpx.Client(timeout=10) as client:
        for _ in range(orders):
            order = sample_order()
            response = post_order(client, info["webhook_url"], info["webhook_secret"], order)
            console.print(f"order {order['order_id']}: HTTP {response.status_code} {response.text}")
            if response.status_code == 202:
                sent.append(order["order_id"])
        deadline = time.monotonic() + timeout
        table = Table(title="What came out")
        for column in ("order", "email to", "subject", "status"):
            table.add_column(column)
        found: dict[str, dict[str, str]] = {}
        while len(found) < len(sent) and time.monotonic() < deadline:
            for order_id in sent:
                if order_id in found:
                    continue
                listed = client.get(
                    f"{info['services']['notification']}/deliveries",
                    params={"correlation_id": order_id},
                    headers=headers,
                ).json()
                for item in listed.get("items", []):
                    if item["status"] != "pending":
                        found[order_id] = item
            time.sleep(0.3)
    for order_id in sent:
        item = found.get(order_id)
        if item:
            table.add_row(order_id, item["recipient"], item["subject"], item["status"])
        else:
            table.add_row(order_id, "-", "-", f"no email after {timeout:.0f}s")
    console.print(table)
    console.print(f"Captured mail: {info['mail_dir']}")


dlt_app = typer.Typer(help="Dead letters: list and replay.", no_args_is_help=True)
app.add_typer(dlt_app, name="dlt")

ServiceOption = Annotated[str, typer.Option("--service", "-s", help="|".join(SERVICE_NAMES))]
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        envvar="ENTITLE_DATABASE_URL", help="PostgreSQL server (default: from var/dev.json)."
    ),
]
BootstrapOption = Annotated[
    str | None,
    typer.Option(envvar="ENTITLE_KAFKA_BOOTSTRAP", help="Kafka (default: from var/dev.json)."),
]


def _dev_info(var: Path = Path("var")) -> dict[str, str]:
    path = var / "dev.json"
    info: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    return info


def _service_pool_url(service: str, database_url: str | None, database: str | None) -> str:
    from services.runtime.db import with_database

    server = database_url or _dev_info().get("database_url")
    if not server:
        raise typer.BadParameter("set ENTITLE_DATABASE_URL or start the stack with `make run`")
    return with_database(server, database or f"entitle_{service}")


NameOption = Annotated[
    str | None,
    typer.Option("--database", envvar="ENTITLE_DATABASE_NAME", help="Default: entitle_<service>."),
]


@dlt_app.command("list")
def dlt_list(
    service: ServiceOption,
    database_url: DatabaseOption = None,
    database: NameOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Also those already replayed.")] = False,
) -> None:
    """Dead letters of a service's consumer: where each came from and why it failed."""
    import asyncio

    import asyncpg

    from services.runtime.dead_letters import list_dead_letters

    async def run() -> None:
        pool = await asyncpg.create_pool(
            _service_pool_url(service, database_url, database), min_size=1, max_size=2
        )
        try:
            letters = await list_dead_letters(pool, include_replayed=all_)
        finally:
            await pool.close()
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

    asyncio.run(run())


@dlt_app.command("replay")
def dlt_replay(
    service: ServiceOption,
    ids: Annotated[list[int] | None, typer.Argument(help="Dead letter ids; none: all.")] = None,
    database_url: DatabaseOption = None,
    database: NameOption = None,
    bootstrap: BootstrapOption = None,
    topic_prefix: Annotated[str, typer.Option(envvar="ENTITLE_KAFKA_TOPIC_PREFIX")] = "",
) -> None:
    """Publish dead letters to their original topic again (each once)."""
    import asyncio
    from datetime import UTC, datetime

    import asyncpg
    from aiokafka import AIOKafkaProducer

    from services.runtime.dead_letters import replay

    async def run() -> list[int]:
        pool = await asyncpg.create_pool(
            _service_pool_url(service, database_url, database), min_size=1, max_size=2
        )
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap or _dev_info().get("kafka_bootstrap"), acks="all"
        )
        await producer.start()
        try:
            return await replay(
                pool, producer, ids=ids or None, topic_prefix=topic_prefix, now=datetime.now(UTC)
            )
        finally:
            await producer.stop()
            await pool.close()

    done = asyncio.run(run())
    console.print(f"replayed {len(done)} dead letter(s): {', '.join(map(str, done)) or '-'}")


@app.command()
def topics(
    bootstrap: BootstrapOption = None,
    topic_prefix: Annotated[str, typer.Option(envvar="ENTITLE_KAFKA_TOPIC_PREFIX")] = "",
) -> None:
    """The topic catalog, with each topic's partitions and end offsets on the broker."""
    import asyncio

    from aiokafka import AIOKafkaConsumer, TopicPartition
    from entitle_events import types_on_topic
    from entitle_events.topics import TOPICS

    async def run() -> dict[str, tuple[int, int]]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap or _dev_info().get("kafka_bootstrap")
        )
        await consumer.start()
        try:
            live: dict[str, tuple[int, int]] = {}
            await consumer.topics()  # fetches the cluster's metadata
            for name in TOPICS:
                partitions = consumer.partitions_for_topic(topic_prefix + name) or set()
                tps = [TopicPartition(topic_prefix + name, p) for p in partitions]
                ends = await consumer.end_offsets(tps) if tps else {}
                live[name] = (len(tps), sum(ends.values()))
            return live
        finally:
            await consumer.stop()

    live = asyncio.run(run())
    table = Table(title="Entitle topics")
    for column in ("topic", "owner", "key", "events", "partitions", "records"):
        table.add_column(column)
    for name, topic in TOPICS.items():
        partitions, records = live[name]
        kinds = ", ".join(t.split(".", 2)[2] for t in types_on_topic(name))
        table.add_row(name, topic.owner, topic.key, kinds, str(partitions), str(records))
    console.print(table)


@app.command()
def tail(
    topic: Annotated[str, typer.Argument(help="e.g. licensing.licenses")],
    bootstrap: BootstrapOption = None,
    topic_prefix: Annotated[str, typer.Option(envvar="ENTITLE_KAFKA_TOPIC_PREFIX")] = "",
    event_type: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    subject: Annotated[str | None, typer.Option(help="Only this subject (key).")] = None,
    from_beginning: Annotated[bool, typer.Option("--from-beginning")] = False,
    limit: Annotated[int | None, typer.Option(help="Stop after this many events.")] = None,
) -> None:
    """Print the topic's events, decoded, as they arrive (Ctrl-C stops)."""
    import asyncio

    from aiokafka import AIOKafkaConsumer
    from entitle_events import EventDecodeError, decode

    async def run() -> None:
        consumer = AIOKafkaConsumer(
            topic_prefix + topic,
            bootstrap_servers=bootstrap or _dev_info().get("kafka_bootstrap"),
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


notification_app = typer.Typer(help="Customer emails.", no_args_is_help=True)
app.add_typer(notification_app, name="notification")


@notification_app.command("preview")
def notification_preview(
    template: Annotated[str, typer.Argument(help="Template name, e.g. license_delivered.")],
    html: Annotated[bool, typer.Option(help="Print the HTML part instead of the text.")] = False,
    catalog_path: Annotated[Path | None, typer.Option(envvar="ENTITLE_CATALOG_PATH")] = None,
) -> None:
    """Render a template with sample data."""
    from services.catalog import load_catalog
    from services.notification.preview import preview

    try:
        rendered = preview(template, load_catalog(catalog_path))
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0])) from None
    typer.echo(f"Subject: {rendered.subject}\n")
    typer.echo(rendered.html if html else rendered.text)


@app.command()
def docs() -> None:
    """Regenerate the AsyncAPI documents of every service in docs/asyncapi/."""
    from services.cli.docs import write_asyncapi

    for path in write_asyncapi():
        console.print(f"wrote {path}")


@keys_app.command("generate")
def generate_key() -> None:
    """Print a new Ed25519 signing key for ENTITLE_SIGNING_KEY."""
    from services.licensing.domain.keys import generate_private_key

    typer.echo(generate_private_key())


if __name__ == "__main__":
    app()
