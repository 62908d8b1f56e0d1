"""Composition root of notification."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from entitle_events import Event
from entitle_events.licensing import LicenseIssued
from entitle_events.portal import SignInRequested
from entitle_events.topics import NOTIFICATION_DELIVERIES

from services.policy.catalog import load_catalog
from services.runtime.consumer import Subscriptions
from services.runtime.context import Context
from services.runtime.scheduler import Job
from services.runtime.service import Runtime, ServiceDefinition
from services.runtime.settings import load_settings

from .adapters.smtp import Mailer, MailerPool
from .adapters.templates import use_portal
from .domain.mail_plan import RULES
from .domain.unsubscribe import unsubscribe_links
from .entrypoints.dependencies import NotificationDependencies
from .entrypoints.http import REFUSAL_STATUS, router
from .handlers.events import flush_overdue_digests, on_customer_events, on_sign_in_requested
from .handlers.send import Sender
from .settings import NotificationSettings

SETTINGS = NotificationSettings


def build(settings: NotificationSettings | None = None) -> ServiceDefinition:
    settings = settings or load_settings(NotificationSettings)
    catalog = load_catalog(settings.catalog_path)
    use_portal(settings.portal_url)
    seal_key = settings.sign_in_seal_key.get_secret_value() if settings.sign_in_seal_key else None
    subscriptions = Subscriptions()
    mailer = MailerPool(
        settings.smtp_connections,
        lambda: Mailer(
            settings.smtp_host,
            settings.smtp_port,
            starttls=settings.smtp_starttls,
            use_tls=settings.smtp_tls,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            timeout=settings.smtp_timeout_seconds,
        ),
    )

    unsubscribe = unsubscribe_links(settings)

    @subscriptions.on_batch(*RULES, LicenseIssued)
    async def customer_events(ctx: Context, events: Sequence[Event[Any]]) -> None:
        await on_customer_events(ctx, events, catalog, settings.message_id_domain)

    @subscriptions.on(SignInRequested)
    async def sign_in_requested(ctx: Context, event: Event[Any]) -> None:
        await on_sign_in_requested(ctx, event, catalog, seal_key, settings.message_id_domain)

    def jobs(runtime: Runtime) -> list[Job]:
        sender = Sender(runtime, mailer, settings, unsubscribe)
        return [
            Job(
                "send-email",
                sender.send_due,
                interval=0.5,
                wake_on_commit=True,
            ),
            Job(
                "flush-overdue-digests",
                lambda: flush_overdue_digests(runtime, catalog, settings),
                interval=30,
            ),
        ]

    return ServiceDefinition(
        name="notification",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        description="Emails customers for the other services' events, exactly once.",
        subscriptions=subscriptions,
        routers=[router],
        publishes=[NOTIFICATION_DELIVERIES],
        jobs=jobs,
        refusal_status=REFUSAL_STATUS,
        dependencies=NotificationDependencies(unsubscribe),
    )
