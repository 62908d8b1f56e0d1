"""`entitle check`: can each service start and work here? Settings, database, broker and
SMTP, each finding with what to do about it."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import urlsplit

import asyncpg
import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from entitle_events.topics import dead_letter_topic
from rich.table import Table

from services.runtime import db, kafka
from services.runtime.service import ServiceDefinition
from services.runtime.settings import (
    SHARED_ACROSS_COPIES,
    RuntimeSettings,
    SettingsError,
    unknown_variables,
    variable,
)

from . import registry
from .connect import console, use_dev_stack_environment

app = typer.Typer()

Status = Literal["ok", "warn", "fail"]
TIMEOUT = 5.0


@dataclass(frozen=True)
class Finding:
    service: str
    check: str
    status: Status
    detail: str


@app.command()
def check(
    services: Annotated[
        list[str] | None, typer.Argument(help="Services to check; none: all of them.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON for scripts instead of a table.")
    ] = False,
) -> None:
    """Connectivity and configuration diagnostics; exits 1 when a service could not work."""
    use_dev_stack_environment()
    names = services or list(registry.SERVICE_NAMES)
    for name in names:
        if name not in registry.SERVICE_NAMES:
            raise typer.BadParameter(f"unknown service {name!r}")
    findings = [
        Finding("all", "settings", "warn", problem)
        for problem in unknown_variables(registry.settings_classes(), os.environ)
    ]
    for name in names:
        findings += asyncio.run(check_service(name))
    failed = any(f.status == "fail" for f in findings)
    if as_json:
        typer.echo(json.dumps([f.__dict__ for f in findings], indent=2))
        raise typer.Exit(1 if failed else 0)
    table = Table(title="entitle check")
    for column in ("service", "check", "status", "detail"):
        table.add_column(column)
    colour = {"ok": "green", "warn": "yellow", "fail": "red"}
    for f in findings:
        table.add_row(f.service, f.check, f"[{colour[f.status]}]{f.status}[/]", f.detail)
    console.print(table)
    if failed:
        raise typer.Exit(1)


async def check_service(name: str) -> list[Finding]:
    try:
        definition = registry.definition(name)
    except SettingsError as exc:
        return [Finding(name, "settings", "fail", problem) for problem in exc.problems]
    s = definition.settings
    findings = [Finding(name, "settings", "ok", "valid")]
    findings += _settings_advice(name, s)
    findings += await _database(definition)
    findings += await _broker(definition)
    if name == "notification":
        findings.append(await _smtp(s))
    return findings


def _settings_advice(name: str, s: RuntimeSettings) -> list[Finding]:
    advice = []
    if s.admin_api_key is None and s.api_keys_file is None:
        advice.append(
            Finding(
                name,
                "api keys",
                "warn",
                "no ENTITLE_ADMIN_API_KEY or ENTITLE_API_KEYS_FILE: every authenticated route"
                " answers 401",
            )
        )
    if name == "portal":
        for setting, consequence in (
            ("access_token_signing_key", "the portal cannot act at the services: no page works"),
            ("sign_in_seal_key", "no sign-in link is ever sent"),
        ):
            if getattr(s, setting, None) is None:
                advice.append(
                    Finding(
                        name,
                        "portal",
                        "fail",
                        f"ENTITLE_{setting.upper()} is not set: {consequence}",
                    )
                )
    for field in SHARED_ACROSS_COPIES:
        url = getattr(s, field, None)
        if isinstance(url, str) and urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1"):
            advice.append(
                Finding(
                    name,
                    "public urls",
                    "warn",
                    f"{variable(field)} is {url}: links in emails open only on this machine",
                )
            )
    if name == "ingress" and not getattr(s, "webhook_secrets", None):
        advice.append(
            Finding(
                name,
                "webhooks",
                "fail",
                "ENTITLE_WEBHOOK_SECRETS is empty: every webhook would be rejected; set the"
                " shop's `whsec_...` secret",
            )
        )
    return advice


async def _database(definition: ServiceDefinition) -> list[Finding]:
    s, name = definition.settings, definition.name
    try:
        conn = await asyncpg.connect(s.database_url, timeout=TIMEOUT)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return [
            Finding(
                name,
                "database",
                "fail",
                f"cannot reach ENTITLE_DATABASE_URL ({_redacted(s.database_url)}): {exc}",
            )
        ]
    try:
        exists = await conn.fetchval(
            "select 1 from pg_database where datname = $1", s.database_name
        )
        may_create = await conn.fetchval(
            "select rolcreatedb or rolsuper from pg_roles where rolname = current_user"
        )
    finally:
        await conn.close()
    if not exists:
        status: Status = "ok" if may_create else "fail"
        hint = "created at start" if may_create else "create it, or grant CREATEDB to the user"
        return [Finding(name, "database", status, f"{s.database_name} does not exist yet: {hint}")]
    pool = await db.create_pool(db.with_database(s.database_url, s.database_name), 2)
    try:
        pending = await db.pending_migrations(pool, db.RUNTIME_MIGRATIONS, definition.migrations)
    finally:
        await pool.close()
    if not pending:
        return [Finding(name, "database", "ok", f"{s.database_name}: schema up to date")]
    status = "ok" if s.migrate_on_start else "fail"
    hint = "applied at start" if s.migrate_on_start else f"run `entitle migrate {name}`"
    return [Finding(name, "database", status, f"{s.database_name}: {len(pending)} pending; {hint}")]


async def _broker(definition: ServiceDefinition) -> list[Finding]:
    s, name = definition.settings, definition.name
    consumer = AIOKafkaConsumer(**kafka.connection(s), request_timeout_ms=5000)
    try:
        await asyncio.wait_for(consumer.start(), TIMEOUT)
        existing = await consumer.topics()
    except Exception as exc:
        return [
            Finding(
                name,
                "broker",
                "fail",
                f"cannot reach ENTITLE_KAFKA_BOOTSTRAP ({s.kafka_bootstrap}): {exc}",
            )
        ]
    finally:
        await consumer.stop()
    consumed = definition.subscriptions.topics
    needed = {
        s.kafka_topic_prefix + t
        for t in (
            *definition.publishes,
            *consumed,
            *(dead_letter_topic(t, s.consumer_group) for t in consumed),
        )
    }
    missing = sorted(needed - existing)
    findings = [Finding(name, "broker", "ok", f"{s.kafka_bootstrap}: reachable")]
    if missing:
        status: Status = "ok" if s.kafka_create_topics else "fail"
        hint = (
            "created at start"
            if s.kafka_create_topics
            else "create them as deploy/kubernetes/topics.txt says (the kafka-topics Job)"
        )
        findings.append(Finding(name, "topics", status, f"missing {', '.join(missing)}: {hint}"))
    else:
        findings.append(Finding(name, "topics", "ok", f"{len(needed)} present"))
    if s.kafka_idempotence:
        findings.append(await _idempotence(name, s))
    return findings


async def _idempotence(name: str, s: RuntimeSettings) -> Finding:
    producer = AIOKafkaProducer(
        **kafka.connection(s), enable_idempotence=True, request_timeout_ms=5000
    )
    try:
        await asyncio.wait_for(producer.start(), TIMEOUT)
        return Finding(name, "idempotent producer", "ok", "accepted by the broker")
    except Exception as exc:
        return Finding(
            name,
            "idempotent producer",
            "fail",
            f"the broker refuses it ({type(exc).__name__}); set ENTITLE_KAFKA_IDEMPOTENCE=false"
            " for brokers without idempotence (the embedded Tansu broker)",
        )
    finally:
        await producer.stop()


async def _smtp(s: RuntimeSettings) -> Finding:
    import aiosmtplib

    host, port = getattr(s, "smtp_host", ""), getattr(s, "smtp_port", 0)
    client = aiosmtplib.SMTP(
        hostname=host,
        port=port,
        use_tls=getattr(s, "smtp_tls", False),
        start_tls=getattr(s, "smtp_starttls", False),
        timeout=TIMEOUT,
    )
    try:
        await client.connect()
        await client.quit()
    except (aiosmtplib.SMTPException, OSError) as exc:
        return Finding(
            "notification",
            "smtp",
            "fail",
            f"cannot reach ENTITLE_SMTP_HOST:ENTITLE_SMTP_PORT ({host}:{port}): {exc}",
        )
    return Finding("notification", "smtp", "ok", f"{host}:{port} answers")


def _redacted(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return parts.geturl()
