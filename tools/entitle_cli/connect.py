"""How the ops commands find the database and the broker: explicit options, the environment
(as the services themselves read it), or the stack `entitle dev` started (`var/dev.json`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from services.runtime.db import with_database
from services.runtime.service import ServiceDefinition
from services.runtime.settings import SettingsError

from . import registry
from .registry import SERVICE_NAMES

console = Console()
errors = Console(stderr=True)

DEV_INFO = Path("var") / "dev.json"

ServiceOption = Annotated[str, typer.Option("--service", "-s", help="|".join(SERVICE_NAMES))]
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        envvar="ENTITLE_DATABASE_URL", help="PostgreSQL server (default: from var/dev.json)."
    ),
]
NameOption = Annotated[
    str | None,
    typer.Option("--database", envvar="ENTITLE_DATABASE_NAME", help="Default: entitle_<service>."),
]
BootstrapOption = Annotated[
    str | None,
    typer.Option(envvar="ENTITLE_KAFKA_BOOTSTRAP", help="Kafka (default: from var/dev.json)."),
]
PrefixOption = Annotated[str, typer.Option(envvar="ENTITLE_KAFKA_TOPIC_PREFIX")]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON for scripts instead of a table.")]


def dev_info(path: Path = DEV_INFO) -> dict[str, Any]:
    info: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    return info


def use_dev_stack_environment(path: Path = DEV_INFO) -> bool:
    """With no database configured, take the settings of the stack `entitle dev` started, so
    the ops commands work on it as they do inside a deployed service."""
    if "ENTITLE_DATABASE_URL" in os.environ:
        return False
    info = dev_info(path)
    environment: dict[str, str] = info.get("environment", {})
    secrets_file = Path(info.get("secrets_file", path.parent / "secrets.json"))
    if environment and secrets_file.exists():  # the signing keys are kept there only
        from entitle_dev.stack import PRIVATE_KEYS

        kept = json.loads(secrets_file.read_text())
        for variable, field in PRIVATE_KEYS.items():
            if field in kept:
                environment[variable] = kept[field]
    for name, value in environment.items():
        os.environ.setdefault(name, value)
    return bool(environment)


def service_database_url(service: str, database_url: str | None, database: str | None) -> str:
    server = database_url or dev_info().get("database_url")
    if not server:
        raise typer.BadParameter("set ENTITLE_DATABASE_URL or start the stack with `make run`")
    return with_database(server, database or f"entitle_{service}")


def bootstrap_servers(bootstrap: str | None) -> str:
    found = bootstrap or dev_info().get("kafka_bootstrap")
    if not found:
        raise typer.BadParameter("set ENTITLE_KAFKA_BOOTSTRAP or start the stack with `make run`")
    return str(found)


def kafka_connection(bootstrap: str | None) -> dict[str, Any]:
    """aiokafka's connection options for an ops command: the bootstrap servers as
    `bootstrap_servers` finds them, TLS and SASL from the ENTITLE_KAFKA_* settings."""
    from services.runtime.kafka import connection
    from services.runtime.settings import RuntimeSettings, load_settings

    try:
        settings = load_settings(RuntimeSettings)
    except SettingsError as exc:
        errors.print("[red]invalid Kafka settings[/red]")
        for problem in exc.problems:
            errors.print(f"  {problem}")
        raise typer.Exit(2) from None
    return {**connection(settings), "bootstrap_servers": bootstrap_servers(bootstrap)}


def definition_or_exit(service: str, failure: str) -> ServiceDefinition:
    """The service built from the settings, or exit 2 naming every invalid setting."""
    try:
        return registry.definition(service)
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0])) from None
    except SettingsError as exc:
        errors.print(f"[red]{service} {failure}: invalid settings[/red]")
        for problem in exc.problems:
            errors.print(f"  {problem}")
        raise typer.Exit(2) from None
