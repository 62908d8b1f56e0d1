"""Sign-in pages, built once per area: ask for a link, open it, sign out.

The emailed link opens a page whose button posts the token: a mail scanner that fetches
the link signs nobody in and uses nothing up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.runtime.db import Connection

from ..domain import sign_in as rules
from ..handlers import sessions
from ..handlers.sign_in import AreaSignIn, LinkRefused, check_link, consume_link, request_link
from .web import (
    Viewer,
    anyone,
    client_address,
    end_session_cookie,
    form_with_csrf,
    redirect,
    refusal_status,
    render,
    start_session,
)

AccountFor = Callable[[Connection, str], Awaitable[str | None]]
Seen = Annotated[Viewer, Depends(anyone)]


def add_sign_in_routes(
    router: APIRouter,
    area: AreaSignIn,
    prefix: str,
    home: str,
    account_for: AccountFor,
) -> None:
    """`/sign-in`, `/sign-in/link` and `/sign-out` under `prefix` for one area."""

    @router.get(f"{prefix}/sign-in", include_in_schema=False)
    async def sign_in_form(seen: Seen, next: str = home) -> Response:
        return render(
            seen,
            "sign_in.html",
            {"next": rules.safe_next(next, home), "prefix": prefix, "area": area.area},
        )

    @router.post(f"{prefix}/sign-in", include_in_schema=False)
    async def send_link(request: Request, seen: Seen) -> Response:
        form = await form_with_csrf(request, seen)
        email = str(form.get("email", "")).strip()
        next_path = rules.safe_next(str(form.get("next", home)), home)
        if not rules.looks_like_email(email):
            return render(
                seen,
                "sign_in.html",
                {
                    "next": next_path,
                    "prefix": prefix,
                    "area": area.area,
                    "email": email[:254],
                    "error": ("EMAIL_INVALID", "Enter an email address like name@example.com."),
                },
                status=422,
            )
        # Past the limits, the refusal answers with its own error page.
        await request_link(
            seen.runtime, seen.web.sign_in, area, email, client_address(request), next_path
        )
        minutes = seen.web.settings.sign_in_link_minutes
        return render(
            seen, "sign_in_sent.html", {"email": email, "minutes": minutes, "prefix": prefix}
        )

    @router.get(f"{prefix}/sign-in/link", include_in_schema=False)
    async def open_link(seen: Seen, token: str = "") -> Response:
        try:
            await check_link(seen.runtime, token)
        except LinkRefused as exc:
            return _refused(seen, exc, prefix)
        return render(seen, "sign_in_confirm.html", {"token": token, "prefix": prefix})

    @router.post(f"{prefix}/sign-in/link", include_in_schema=False)
    async def use_link(request: Request, seen: Seen) -> Response:
        form = await form_with_csrf(request, seen)
        token = str(form.get("token", ""))
        web = seen.web
        try:
            session = await consume_link(
                seen.runtime,
                area,
                token,
                seen.principal.session_id if seen.principal else None,
                timedelta(hours=web.settings.session_hours),
                account_for,
            )
        except LinkRefused as exc:
            return _refused(seen, exc, prefix)
        start_session(seen, session.cookie_value)
        return redirect(seen, rules.safe_next(session.next_path, home))

    @router.post(f"{prefix}/sign-out", include_in_schema=False)
    async def sign_out(request: Request, seen: Seen) -> Response:
        await form_with_csrf(request, seen)
        if seen.principal is not None:
            await sessions.end(seen.runtime.pool, seen.principal.session_id)
        end_session_cookie(seen)
        return redirect(seen, f"{prefix}/sign-in", signed_out="1")


def _refused(seen: Viewer, refusal: LinkRefused, prefix: str) -> Response:
    return render(
        seen,
        "error.html",
        {
            "code": refusal.code,
            "sentence": refusal.detail,
            "action": (f"{prefix}/sign-in", "Ask for a new sign-in link"),
        },
        refusal_status(refusal.code),
    )
