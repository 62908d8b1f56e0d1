"""Pages without sign-in: key status (seed 004's "enter your key on our NovaCare page") and
the unsubscribe page of non-transactional mail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..domain import licenses as rules
from ..domain.answers import LicenseFacts
from ..domain.apis import ServiceError
from ..domain.sign_in import RateLimit
from ..handlers.key_status import lookup_allowed
from .support_pages import TIERS
from .web import PageError, Viewer, anyone, client_address, form_with_csrf, render

router = APIRouter()
Seen = Annotated[Viewer, Depends(anyone)]


@router.get("/key-status")
async def key_status_form(seen: Seen) -> Response:
    return render(seen, "key_status.html", {"result": None, "key": ""})


def _coverage_of(facts: LicenseFacts, now: datetime) -> tuple[str, str | None]:
    if facts.coverage.perpetual and facts.status == "active":
        return "perpetual", None
    ends = facts.coverage.ends_at
    if not ends:
        return "none", None
    return ("active" if datetime.fromisoformat(ends) > now else "lapsed"), ends


@router.post("/key-status")
async def key_status(request: Request, seen: Seen) -> Response:
    form = await form_with_csrf(request, seen)
    key = str(form.get("key", "")).strip()[:1000]
    web = seen.web
    now = seen.runtime.clock.now()
    limit = RateLimit(web.settings.key_status_per_client)
    if not await lookup_allowed(seen.runtime.pool, client_address(request), limit, now):
        raise PageError(
            429,
            "KEY_STATUS_RATE_LIMITED",
            "Too many keys were looked up from here. Try again in 15 minutes.",
        )
    if not key:
        return render(
            seen,
            "key_status.html",
            {"result": None, "key": "", "problem": ("KEY_MISSING", "Enter a license key.")},
            422,
        )
    try:
        # The key is the credential: licensing answers with the key's own signed file.
        facts = await web.services.anonymous().license_facts(key)
    except ServiceError as exc:
        if exc.status != 404:
            raise
        return render(
            seen,
            "key_status.html",
            {
                "result": None,
                "key": key,
                "problem": ("LICENSE_NOT_FOUND", "No license has this key. Check it and retry."),
            },
            404,
        )
    coverage, ends = _coverage_of(facts, now)
    tier = await _tier(seen, facts)
    result = {
        "product": rules.type_name(web.catalog, facts.product, facts.edition, facts.kind),
        "status": facts.status,
        "coverage": rules.coverage_status_text(coverage),
        "ends_at": ends,
        "tier": TIERS.get(tier, tier) if tier else None,
    }
    return render(seen, "key_status.html", {"result": result, "key": key})


async def _tier(seen: Viewer, facts: LicenseFacts) -> str | None:
    """The support tier of the key's account for this product: asked with a token bound to
    that account that may only read tickets."""
    try:
        api = seen.web.services.for_account(
            "key-status",
            facts.account_id,
            frozenset({"tickets:read"}),
            seen.runtime.clock.now(),
        )
        version = f"{facts.major_version or 1}.0.0"
        options = await api.support_options(facts.product, version, "technical")
    except ServiceError:
        return None
    return options.tier


@router.get("/unsubscribe")
async def unsubscribe_page(seen: Seen, email: str = "", token: str = "") -> Response:
    return render(seen, "unsubscribe.html", {"email": email, "token": token, "done": False})


@router.post("/unsubscribe")
async def unsubscribe(request: Request, seen: Seen, email: str = "", token: str = "") -> Response:
    """The button of the page, and RFC 8058's one-click POST from mail clients (which sends
    no CSRF token: the link's own signed token authorises it)."""
    try:
        await seen.web.services.anonymous().unsubscribe(email, token)
    except ServiceError as exc:
        raise PageError(
            404 if exc.status in (403, 404, 422) else exc.status,
            "UNSUBSCRIBE_LINK_INVALID",
            "This unsubscribe link is not valid. Use the link from the latest email.",
        ) from None
    return render(seen, "unsubscribe.html", {"email": email, "token": token, "done": True})
