"""The start page, the account picker (a person tied to several accounts picks one) and
the viewer's preferences (time zone)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..domain import display
from ..domain.sign_in import safe_next
from ..handlers import sessions
from .web import ZONE_COOKIE, PageError, Viewer, anyone, form_with_csrf, redirect, render, signed_in

router = APIRouter()
Seen = Annotated[Viewer, Depends(anyone)]
Customer = Annotated[Viewer, Depends(signed_in("portal", need_account=False))]


@router.get("/")
async def home(seen: Seen) -> Response:
    if seen.principal is None:
        return render(seen, "home.html")
    return redirect(seen, "/licenses")


@router.get("/accounts")
async def accounts(seen: Customer, next: str = "/licenses") -> Response:
    return render(seen, "accounts.html", {"next": safe_next(next, "/licenses")})


@router.post("/accounts")
async def pick_account(request: Request, seen: Customer) -> Response:
    form = await form_with_csrf(request, seen)
    chosen = str(form.get("account_id", ""))
    if chosen not in {m.account_id for m in seen.memberships}:
        raise PageError(404, "ACCOUNT_NOT_FOUND", "This account is not one of yours.")
    assert seen.principal is not None
    await sessions.act_for(seen.runtime.pool, seen.principal.session_id, chosen)
    return redirect(seen, safe_next(str(form.get("next", "/licenses")), "/licenses"))


@router.get("/preferences")
async def preferences(seen: Seen, next: str = "/") -> Response:
    return render(
        seen,
        "preferences.html",
        {"zones": display.zone_names(), "next": safe_next(next, "/")},
    )


@router.post("/preferences")
async def save_preferences(request: Request, seen: Seen) -> Response:
    form = await form_with_csrf(request, seen)
    zone = display.zone_or_default(str(form.get("zone", "")), seen.web.settings.default_timezone)
    seen.set_cookies[ZONE_COOKIE] = zone.key
    seen.set_cookies[ZONE_COOKIE + "_auto"] = "1"  # the browser's own zone no longer applies
    return redirect(seen, safe_next(str(form.get("next", "/")), "/"))


@router.get("/brand.css")
async def brand_css(seen: Seen) -> Response:
    """The catalog's brand colours, with text colours that keep their contrast."""
    from ..domain.brand import link_colour, text_on

    colour = seen.web.brand.color
    css = (
        f":root {{ --brand: {colour}; --brand-text: {text_on(colour)};"
        f" --link: {link_colour(colour)}; }}\n"
    )
    return Response(css, media_type="text/css", headers={"cache-control": "max-age=300"})
