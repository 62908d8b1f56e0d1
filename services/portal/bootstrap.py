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
from services.runtime.scheduler import Job
from services.runtime.service import Runtime, ServiceDefinition
from services.runtime.settings import load_settings

from .adapters.services_api import Endpoints, HttpServices
from .adapters.templates import STATIC_DIR, environment
from .domain import sign_in as rules
from .entrypoints import (
    account_pages,
    desk_admin_pages,
    desk_pages,
    license_pages,
    public_pages,
    support_pages,
    web,
)
from .entrypoints.dependencies import Web
from .entrypoints.sign_in_pages import add_sign_in_routes
from .handlers.directory import DIRECTORY_EVENTS, on_directory_events
from .handlers.housekeeping import forget_ended
from .handlers.sessions import customer_role, only_account
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


def web_of(settings: PortalSettings) -> Web:
    """What the pages need: templates, catalog, the services' clients, the policies."""
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
    endpoints = Endpoints(
        settings.licensing_url,
        settings.maintenance_url,
        settings.ticketing_url,
        settings.notification_url,
    )
    secret = settings.session_secret
    return Web(
        settings=settings,
        templates=environment(),
        static_dir=STATIC_DIR,
        catalog=load_catalog(settings.catalog_path),
        services=HttpServices(endpoints, issuer),
        sign_in=sign_in_policy(settings),
        csrf_key=(secret.get_secret_value().encode() if secret else secrets.token_bytes(32)),
        nav={"portal": PORTAL_NAV, "desk": DESK_NAV},
    )


def build(settings: PortalSettings | None = None) -> ServiceDefinition:
    settings = settings or load_settings(PortalSettings)
    pages = web_of(settings)
    subscriptions = Subscriptions()
    subscriptions.on_batch(*DIRECTORY_EVENTS)(on_directory_events)

    router = APIRouter(include_in_schema=False)
    add_sign_in_routes(router, PORTAL_SIGN_IN, "", "/licenses", only_account)
    for routes in (account_pages, license_pages, support_pages, public_pages):
        router.include_router(routes.router)
    desk_pages.add_desk_routes(router)
    router.include_router(desk_admin_pages.router)

    def configure(app: Any) -> None:
        assert isinstance(app, FastAPI)
        web.configure(app, pages.static_dir)

    def jobs(runtime: Runtime) -> list[Job]:
        return [Job("forget-sessions", lambda: forget_ended(runtime), interval=300)]

    return ServiceDefinition(
        name="portal",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        description="The web pages people use: licenses, maintenance, support, sign-in.",
        subscriptions=subscriptions,
        routers=[router],
        publishes=[PORTAL_SIGN_INS],
        jobs=jobs,
        refusal_status=web.REFUSAL_STATUS,
        configure_app=configure,
        dependencies=pages,
    )
