"""Commands on a service's database: `migrate` and `replay` (rebuild a projection)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from services.runtime import db, kafka
from services.runtime.clock import SystemClock
from services.runtime.replay import Projection, ReplayError, ReplayReport, Start, rebuild
from services.runtime.service import ServiceDefinition
from services.runtime.settings import RuntimeSettings, SettingsError, load_settings

from . import registry
from .connect import console, definition_or_exit, errors, use_dev_stack_environment

app = typer.Typer()


def _definition(service: str) -> ServiceDefinition:
    use_dev_stack_environment()
    return definition_or_exit(service, "cannot be used")


@app.command()
def migrate(
    services: Annotated[
        list[str] | None, typer.Argument(help="Services to migrate; none: all five.")
    ] = None,
) -> None:
    """Create each service's database if needed and apply its pending migrations (what a
    service does at start unless ENTITLE_MIGRATE_ON_START=false). Reads only the database
    settings, so a release step runs it without the services' secrets."""
    use_dev_stack_environment()
    try:
        shared = load_settings(RuntimeSettings)
    except SettingsError as exc:
        for problem in exc.problems:
            errors.print(f"[red]{problem}[/red]")
        raise typer.Exit(2) from None
    names = services or list(registry.SERVICE_NAMES)
    if unknown := sorted(set(names) - set(registry.SERVICE_NAMES)):
        raise typer.BadParameter(f"unknown service(s) {', '.join(unknown)}")
    if shared.database_name and len(names) != 1:
        raise typer.BadParameter("ENTITLE_DATABASE_NAME is one service's database: name it")
    for name in names:
        database = shared.database_name or f"entitle_{name}"
        applied = asyncio.run(
            _migrate(shared.database_url, database, registry.described(name).migrations)
        )
        console.print(f"{name}: " + (f"applied {', '.join(applied)}" if applied else "up to date"))


async def _migrate(server_url: str, database: str, migrations: Path) -> list[str]:
    await db.ensure_database(server_url, database)
    pool = await db.create_pool(db.with_database(server_url, database), 2)
    try:
        return await db.migrate(pool, db.RUNTIME_MIGRATIONS, migrations)
    finally:
        await pool.close()


@app.command()
def replay(
    service: Annotated[str, typer.Argument(help="ticketing | licensing")],
    projection: Annotated[
        str | None, typer.Argument(help="Name of the projection; none lists them.")
    ] = None,
    from_offset: Annotated[int, typer.Option(min=0, help="Start offset on each partition.")] = 0,
    from_time: Annotated[
        datetime | None, typer.Option(help="Start at the first record at or after this time.")
    ] = None,
    reset: Annotated[
        bool, typer.Option(help="Empty the projection's tables first (from the beginning only).")
    ] = False,
    allow_gap: Annotated[
        bool, typer.Option(help="Reset even though retention removed the topics' first records.")
    ] = False,
) -> None:
    """Rebuild a service's projection by applying its topics' events again from an offset.

    Runs in one transaction while the service's consumer waits; safe to run twice."""
    definition = _definition(service)
    chosen = _projection(definition, projection)
    s = definition.settings
    if from_time is not None and from_time.tzinfo is None:
        raise typer.BadParameter("give --from-time with a UTC offset, e.g. 2026-11-01T00:00Z")

    bars = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def advance(topic: str, done: int, total: int) -> None:
        if topic not in tasks:
            tasks[topic] = bars.add_task(f"{topic} (the consumer waits)", total=total)
        bars.update(tasks[topic], completed=done)

    async def run() -> ReplayReport:
        pool = await db.create_pool(db.with_database(s.database_url, s.database_name), 2)
        try:
            return await rebuild(
                pool=pool,
                projection=chosen,
                subscriptions=definition.subscriptions,
                bootstrap=s.kafka_bootstrap,
                topic_prefix=s.kafka_topic_prefix,
                service=definition.name,
                connection=kafka.connection(s),
                progress=advance,
                clock=SystemClock(),
                start=Start(from_offset, from_time),
                reset=reset,
                allow_gap=allow_gap,
            )
        finally:
            await pool.close()

    try:
        with bars:
            report = asyncio.run(run())
    except ReplayError as exc:
        errors.print(f"[red]replay refused, nothing changed:[/red] {exc}")
        raise typer.Exit(1) from None
    _print(report)


def _projection(definition: ServiceDefinition, name: str | None) -> Projection:
    found = {p.name: p for p in definition.projections}
    if name in found:
        return found[name]
    listed = ", ".join(f"{p.name} ({', '.join(p.tables)})" for p in found.values()) or "none"
    if name is None:
        console.print(f"projections of {definition.name}: {listed}")
        raise typer.Exit(0)
    raise typer.BadParameter(f"{definition.name} has no projection {name!r}; it has: {listed}")


def _print(report: ReplayReport) -> None:
    table = Table(
        title=f"projection {report.projection} rebuilt in {report.seconds:.1f}s"
        + (" (tables emptied first)" if report.reset else "")
    )
    for column in ("what", "count"):
        table.add_column(column)
    for topic, count in sorted(report.records.items()):
        table.add_row(f"records read from {topic}", str(count))
    for kind, count in sorted(report.applied.items()):
        table.add_row(f"applied {kind}", str(count))
    for kind, count in sorted(report.skipped.items()):
        table.add_row(f"skipped {kind} (not part of the projection)", str(count))
    console.print(table)
