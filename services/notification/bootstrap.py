"""Composition root of notification."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from entitle_events import Event
from entitle_events.licensing import LicenseIssued
from entitle_events.portal import SignInRequested
from entitle_events.topics import NOTIFICATION_DELIVERIES

from services.catalog import load_catalog
from services.runtime.consumer import Subscriptions
from services.runtime.context import Context
from services.runtime.scheduler import Job
from services.runtime.service import Runtime, ServiceDefinition
from services.runtime.settings import load_settings

from .adapters.smtp import Mailer, MailerPool
from .adapters.templates import use_portal
from .domain.mail_plan import RULES
from .domain.unsubscribe import unsubscribe_links
from .entrypoints.http import router
from .handlers.events import flush_overdue_digests, on_customer_event, on_sign_in_requested
from .handlers.send import send_due
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

    @subscriptions.on(*RULES, LicenseIssued)
    async def customer_event(ctx: Context, event: Event[Any]) -> None:
        await on_customer_event(ctx, event, catalog, settings.message_id_domain)

    @subscriptions.on(SignInRequested)
    async def sign_in_requested(ctx: Context, event: Event[Any]) -> None:
        await on_sign_in_requested(ctx, event, catalog, seal_key, settings.message_id_domain)

    def jobs(runtime: Runtime) -> list[Job]:
        unsubscribe = unsubscribe_links(settings)
        runtime.state["unsubscribe"] = unsubscribe
        return [
            Job(
                "send-email",
                lambda: send_due(runtime, mailer, settings, unsubscribe),
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
    )
