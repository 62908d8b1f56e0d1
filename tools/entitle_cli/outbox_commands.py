"""`entitle outbox list|retry|drop`: outbox rows the relay could not publish."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from services.runtime.outbox import drop_parked, list_failing, retry_parked

from .broker_commands import _with_pool
from .connect import (
    DatabaseOption,
    JsonOption,
    NameOption,
    ServiceOption,
    console,
    service_database_url,
)

app = typer.Typer()
outbox_app = typer.Typer(
    help="Outbox rows the broker refused: list, retry and drop.", no_args_is_help=True
)
app.add_typer(outbox_app, name="outbox")


@outbox_app.command("list")
def outbox_list(
    service: ServiceOption,
    database_url: DatabaseOption = None,
    database: NameOption = None,
    retrying: Annotated[
        bool, typer.Option("--retrying", help="Also rows still being retried.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Parked outbox rows: what each would publish, why it failed, what waits behind it."""
    rows = _with_pool(
        service_database_url(service, database_url, database),
        lambda pool: list_failing(pool, parked_only=not retrying),
    )
    if as_json:
        typer.echo(json.dumps([r.__dict__ for r in rows], default=str, indent=2))
        return
    table = Table(title=f"outbox rows of {service} the broker refused")
    for column in ("id", "topic", "key", "bytes", "attempts", "error", "parked", "waiting"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r.id),
            r.topic,
            r.key or "",
            str(r.size),
            str(r.attempts),
            (r.last_error or "")[:80],
            f"{r.parked_at:%Y-%m-%d %H:%M:%S}" if r.parked_at else "retrying",
            str(r.waiting_behind),
        )
    console.print(table)


@outbox_app.command("retry")
def outbox_retry(
    service: ServiceOption,
    ids: Annotated[
        list[int] | None, typer.Argument(help="Row ids; none: every parked row.")
    ] = None,
    database_url: DatabaseOption = None,
    database: NameOption = None,
) -> None:
    """Try parked rows again (after the cause is fixed: topic created, size limit raised)."""
    done = _with_pool(
        service_database_url(service, database_url, database),
        lambda pool: retry_parked(pool, ids or None),
    )
    console.print(f"retrying {len(done)} row(s): {', '.join(map(str, done)) or '-'}")


@outbox_app.command("drop")
def outbox_drop(
    service: ServiceOption,
    ids: Annotated[list[int], typer.Argument(help="Row ids from `entitle outbox list`.")],
    database_url: DatabaseOption = None,
    database: NameOption = None,
) -> None:
    """Delete parked rows for good (never published); the rows behind them go on."""
    done = _with_pool(
        service_database_url(service, database_url, database),
        lambda pool: drop_parked(pool, ids),
    )
    if not done:
        console.print("[red]none of these rows is parked[/red]")
        raise typer.Exit(1)
    console.print(f"dropped {len(done)} row(s): {', '.join(map(str, done))}")
