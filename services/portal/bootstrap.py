"""Composition root of the portal: the directory projection, the web foundation, the
customer pages, and the job that forgets ended sessions and used links."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from entitle_events.topics import PORTAL_SIGN_INS
from fastapi import APIRouter, FastAPI

from services.policy.catalog import load_catalog
from services.runtime.auth import AccessTokenIssuer
from services.runtime.consumer import Subscriptions
from services.runtime.db import Connection
from services.runtime.scheduler import Job
from services.runtime.service import Runtime, ServiceDefinition
from services.runtime.settings import load_settings

from .adapters import store
from .adapters.services_api import Endpoints, Services
from .adapters.templates import environment
from .domain import sign_in as rules
from .domain.principals import Role
from .entrypoints import (
    account_pages,
    desk_admin_pages,
    desk_pages,
    license_pages,
    public_pages,
    support_pages,
    web,
)
from .entrypoints.sign_in_pages import add_sign_in_routes
from .handlers.directory import DIRECTORY_EVENTS, on_directory_event
from .handlers.sign_in import AreaSignIn, SignInPolicy
from .settings import PortalSettings

SETTINGS = PortalSettings

PORTAL_NAV = [
    ("/licenses", "Licenses"),
    ("/maintenance/associate", "Associate maintenance"),
    ("/transfer", "Transfer"),
    ("/support", "Support"),
    ("/key-status", "Key status"),
]
DESK_NAV = [
    ("/desk/queue", "Queue"),
    ("/desk/admin", "Admin"),
    ("/desk/account", "My account"),
]


async def customer_role(conn: Connection, email: str) -> Role | None:
    return "customer" if await store.memberships(conn, email) else None


async def only_account(conn: Connection, email: str) -> str | None:
    """The account a person acts for right away: theirs, when they have exactly one."""
    found = await store.memberships(conn, email)
    return found[0].account_id if len(found) == 1 else None


PORTAL_SIGN_IN = AreaSignIn("portal", customer_role, "/sign-in/link")


def sign_in_policy(settings: PortalSettings) -> SignInPolicy:
    seal = settings.sign_in_seal_key
    return SignInPolicy(
        link_lifetime=timedelta(minutes=settings.sign_in_link_minutes),
        per_address=rules.RateLimit(settings.sign_in_per_address),
        per_client=rules.RateLimit(settings.sign_in_per_client),
        portal_url=settings.portal_url,
        seal_key=seal.get_secret_value() if seal else None,
    )


def build(settings: PortalSettings | None = None) -> ServiceDefinition:
    settings = settings or load_settings(PortalSettings)
    catalog = load_catalog(settings.catalog_path)
    subscriptions = Subscriptions()
    subscriptions.on(*DIRECTORY_EVENTS)(on_directory_event)

    router = APIRouter(include_in_schema=False)
    add_sign_in_routes(
        router, PORTAL_SIGN_IN, lambda: sign_in_policy(settings), "", "/licenses", only_account
    )
    for pages in (account_pages, license_pages, support_pages, public_pages):
        router.include_router(pages.router)
    desk_pages.add_desk_routes(router, lambda: sign_in_policy(settings))
    router.include_router(desk_admin_pages.router)

    async def on_start(runtime: Runtime) -> None:
        key = settings.access_token_signing_key
        issuer = (
            AccessTokenIssuer(
                settings.access_token_key_id,
                key.get_secret_value(),
                timedelta(minutes=settings.access_token_minutes),
            )
            if key
            else None
        )
        secret = settings.session_secret
        runtime.state["web"] = web.Web(
            settings=settings,
            runtime=runtime,
            templates=environment(),
            catalog=catalog,
            services=Services(
                Endpoints(
                    settings.licensing_url,
                    settings.maintenance_url,
                    settings.ticketing_url,
                    settings.notification_url,
                ),
                issuer,
                runtime.clock.now,
            ),
            csrf_key=(secret.get_secret_value().encode() if secret else secrets.token_bytes(32)),
            nav={"portal": PORTAL_NAV, "desk": DESK_NAV},
        )

    async def forget(runtime: Runtime) -> int:
        now = runtime.clock.now()
        await store.forget_expired(runtime.pool, now, now - timedelta(days=1))
        return 0

    def configure(app: Any) -> None:
        assert isinstance(app, FastAPI)
        web.configure(app)

    return ServiceDefinition(
        name="portal",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        description="The web pages people use: licenses, maintenance, support, sign-in.",
        subscriptions=subscriptions,
        routers=[router],
        publishes=[PORTAL_SIGN_INS],
        jobs=lambda runtime: [Job("forget-sessions", lambda: forget(runtime), interval=300)],
        on_start=on_start,
        configure_app=configure,
    )
