"""The desk's admin pages: desk accounts, publishing a release, looking a license up (by key,
order or email) and changing its status, dead letters per service with replay, and each
consumer group's lag. Each action goes through the services' own APIs with the admin's staff
token; desk accounts are the portal's own data."""

from __future__ import annotations

import asyncio
from datetime import datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.runtime import kafka
from services.runtime.dead_letters import list_dead_letters
from services.runtime.dead_letters import replay as replay_dead_letters
from services.runtime.operations import group_lag
from services.runtime.service import Runtime

from ..domain.answers import License
from ..domain.apis import OPERATED, ServiceError, ServiceUnavailable
from ..domain.desk import license_actions
from ..handlers.agents import (
    AddAgent,
    AgentRefused,
    DisableAgent,
    add_agent,
    all_agents,
    disable_agent,
)
from .desk_pages import staff
from .web import PageError, Viewer, form_with_csrf, redirect, refusal_status, render, signed_in

router = APIRouter(include_in_schema=False)
Admin = Annotated[Viewer, Depends(signed_in("desk", frozenset({"admin"})))]
LICENSE_COMMANDS = {
    "suspend": "Suspended",
    "reinstate": "Reinstated",
    "revoke": "Revoked",
    "deactivate": "Deactivated",
}
LOOKUPS = {"key": "License key", "order": "Order id", "email": "Customer email"}
DONE = {
    "agent": "The desk account is saved.",
    "disabled": "The desk account is disabled; its sessions ended.",
    "release": "The release is published.",
    "replayed": "Dead letters replayed.",
    **{c: f"{w}." for c, w in LICENSE_COMMANDS.items()},
}


def _me(seen: Viewer) -> str:
    assert seen.principal is not None
    return seen.principal.email


@router.get("/desk/admin")
async def admin_home(seen: Admin) -> Response:
    return render(seen, "desk/admin.html", {})


# -- desk accounts ----------------------------------------------------------------------


async def _agents_page(
    seen: Viewer,
    error: tuple[str, str] | None = None,
    status: int = 200,
    done: str = "",
    email: str = "",
) -> Response:
    listed = await all_agents(seen.runtime.pool)
    return render(
        seen,
        "desk/admin_agents.html",
        {"agents": listed, "error": error, "done": DONE.get(done), "email": email},
        status,
    )


@router.get("/desk/admin/agents")
async def agents_page(seen: Admin, done: str = "") -> Response:
    return await _agents_page(seen, done=done)


@router.post("/desk/admin/agents")
async def save_agent(request: Request, seen: Admin) -> Response:
    form = await form_with_csrf(request, seen)
    email = str(form.get("email", "")).strip()[:254]
    try:
        runtime = seen.runtime
        command = AddAgent(email, str(form.get("role", "")), _me(seen))
        await add_agent(runtime.pool, command, runtime.clock.now())
    except AgentRefused as exc:
        return await _agents_page(
            seen, (exc.code, exc.detail), refusal_status(exc.code), email=email
        )
    return redirect(seen, "/desk/admin/agents", done="agent")


@router.post("/desk/admin/agents/disable")
async def disable(request: Request, seen: Admin) -> Response:
    form = await form_with_csrf(request, seen)
    try:
        runtime = seen.runtime
        command = DisableAgent(str(form.get("email", "")), _me(seen))
        await disable_agent(runtime.pool, command, runtime.clock.now())
    except AgentRefused as exc:
        return await _agents_page(seen, (exc.code, exc.detail), refusal_status(exc.code))
    return redirect(seen, "/desk/admin/agents", done="disabled")


# -- releases ---------------------------------------------------------------------------


async def _releases_page(
    seen: Viewer,
    error: tuple[str, str] | None = None,
    status: int = 200,
    done: str = "",
    form: dict[str, str] | None = None,
) -> Response:
    catalog = seen.web.catalog
    api = staff(seen)
    published = {
        p.code: await api.releases(p.code) for p in catalog.products if p.base_product is None
    }
    return render(
        seen,
        "desk/admin_releases.html",
        {
            "products": catalog.products,
            "published": published,
            "error": error,
            "done": DONE.get(done),
            "form": form or {},
            "today": datetime.now(seen.zone).date().isoformat(),
        },
        status,
    )


@router.get("/desk/admin/releases")
async def releases_page(seen: Admin, done: str = "") -> Response:
    return await _releases_page(seen, done=done)


@router.post("/desk/admin/releases")
async def publish(request: Request, seen: Admin) -> Response:
    form = await form_with_csrf(request, seen)
    values = {k: str(form.get(k, "")).strip()[:100] for k in ("product", "version", "date")}
    try:
        day = datetime.strptime(values["date"], "%Y-%m-%d").date()
    except ValueError:
        return await _releases_page(
            seen, ("DATE_INVALID", "Give the release date as a date."), 422, form=values
        )
    # Released at the start of that day where the admin is.
    released = datetime.combine(day, time(), tzinfo=ZoneInfo(seen.zone.key))
    try:
        await staff(seen).publish_release(
            values["product"], values["version"], released.isoformat()
        )
    except ServiceError as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        return await _releases_page(seen, (exc.code, _sentence(exc.detail)), 422, form=values)
    return redirect(seen, "/desk/admin/releases", done="release")


def _sentence(detail: str) -> str:
    text = detail.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else "It was refused."


# -- licenses ---------------------------------------------------------------------------


@router.get("/desk/admin/licenses")
async def licenses_page(seen: Admin, by: str = "key", q: str = "", done: str = "") -> Response:
    by = by if by in LOOKUPS else "key"
    q = q.strip()[:320]
    found: list[License] = []
    not_found = None
    if q:
        api = staff(seen)
        if by == "key":
            try:
                found = [await api.license(q)]
            except ServiceError as exc:
                if exc.status != 404:
                    raise
        else:
            found = await api.licenses(by, q)
        if not found:
            not_found = ("NO_LICENSE_FOUND", f"No license has this {LOOKUPS[by].lower()}.")
    return render(
        seen,
        "desk/admin_licenses.html",
        {
            "by": by,
            "q": q,
            "lookups": LOOKUPS,
            "found": [(lic, license_actions(lic.status, lic.kind)) for lic in found],
            "not_found": not_found,
            "commands": LICENSE_COMMANDS,
            "done": DONE.get(done),
        },
    )


@router.post("/desk/admin/licenses/{command}")
async def change_license(command: str, request: Request, seen: Admin) -> Response:
    if command not in LICENSE_COMMANDS:
        raise PageError(404, "PAGE_NOT_FOUND", "There is no page at this address.")
    form = await form_with_csrf(request, seen)
    key = str(form.get("key", "")).strip()
    reason = str(form.get("reason", "")).strip()[:500] or f"{command} from the support desk"
    await staff(seen).change_license(key, command, reason)
    return redirect(seen, "/desk/admin/licenses", by="key", q=key, done=command)


# -- operations -------------------------------------------------------------------------


async def _safely(call: Any) -> tuple[Any, str | None]:
    """A service's answer, or why there is none: one service down spoils no other's row."""
    try:
        return await call, None
    except ServiceUnavailable:
        return None, "not answering"
    except ServiceError as exc:
        return None, f"{exc.code}: {exc.detail}"
    except OSError as exc:  # the broker, for the portal's own lag
        return None, f"broker: {exc}"


@router.get("/desk/admin/operations")
async def operations_page(seen: Admin, done: str = "", count: int = 0) -> Response:
    api = staff(seen)
    letters = await asyncio.gather(*(_safely(api.dead_letters(s)) for s in OPERATED))
    lags = await asyncio.gather(*(_safely(api.consumer_lag(s)) for s in OPERATED))
    runtime = seen.runtime
    own = await list_dead_letters(runtime.pool)
    own_lag = await _safely(group_lag(runtime))
    services = [
        {"name": name, "letters": letter, "lag": lag}
        for name, letter, lag in zip(OPERATED, letters, lags, strict=True)
    ]
    services.append({"name": "portal", "letters": ({"items": own}, None), "lag": own_lag})
    return render(
        seen,
        "desk/admin_operations.html",
        {
            "services": services,
            "done": DONE.get(done),
            "count": count,
        },
    )


async def _replay_own(runtime: Runtime, ids: list[int] | None) -> list[int]:
    """The portal's own dead letters (its directory consumer): its own database."""
    producer = kafka.create_producer(runtime.settings)
    await producer.start()
    try:
        return await replay_dead_letters(
            runtime.pool,
            producer,
            ids=ids,
            topic_prefix=runtime.settings.kafka_topic_prefix,
            now=runtime.clock.now(),
        )
    finally:
        await producer.stop()


@router.post("/desk/admin/operations/{service}/replay")
async def replay(service: str, request: Request, seen: Admin) -> Response:
    if service not in (*OPERATED, "portal"):
        raise PageError(404, "PAGE_NOT_FOUND", "There is no page at this address.")
    form = await form_with_csrf(request, seen)
    chosen = [int(v) for v in form.getlist("id") if isinstance(v, str) and v.isdigit()]
    if service == "portal":
        done = await _replay_own(seen.runtime, chosen or None)
    else:
        done = await staff(seen).replay(service, chosen or None)
    return redirect(seen, "/desk/admin/operations", done="replayed", count=str(len(done)))
