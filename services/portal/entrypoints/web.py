"""The web foundation both areas (customer portal, support desk) are built on.

* `Web` (built by bootstrap.py) holds what pages need: templates, brand, the services' APIs,
  the policies.
* `Viewer` is who is looking: their session (if any), browser id, time zone, CSRF token;
  it carries the started runtime (database, clock) to the page.
* Sessions: a random id in an HttpOnly, SameSite=Lax cookie (Secure outside localhost);
  the table keeps its SHA-256; sign-in issues a new id.
* CSRF: every state-changing form carries a token, an HMAC of the browser id and session
  id (signed double submit); `form_with_csrf` refuses a form without a valid one.
* Errors are pages with a sentence and a stable code, never a stack trace.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote, urlencode
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.runtime.errors import ApiError, Refused
from services.runtime.http import RuntimeDep, dependencies_of, get_runtime
from services.runtime.service import Runtime

from ..domain import display
from ..domain.apis import AccountApi, ServiceError, ServiceUnavailable
from ..domain.brand import link_colour, text_on
from ..domain.principals import CUSTOMER_SCOPES, Area, Membership, Role, WebPrincipal
from ..domain.records import WebSession
from ..handlers import sessions
from .dependencies import Web

log = logging.getLogger(__name__)

SESSION_COOKIE = "entitle_session"
BROWSER_COOKIE = "entitle_browser"
ZONE_COOKIE = "entitle_tz"
CSRF_FIELD = "csrf_token"
OPERATIONS = (
    "/healthz",
    "/readyz",
    "/metrics",
    "/docs",
    "/openapi.json",
    "/asyncapi.json",
    "/dead-letters",
    "/consumer-lag",
)


REFUSAL_STATUS = {
    "EMAIL_INVALID": 422,
    "ROLE_INVALID": 422,
    "PASSWORD_TOO_SHORT": 422,
    "PASSWORD_TOO_LONG": 422,
    "SIGN_IN_FAILED": 401,
    "SIGN_IN_RATE_LIMITED": 429,
    "SIGN_IN_LINK_EXPIRED": 410,
    "SIGN_IN_LINK_USED": 410,
    "SIGN_IN_LINK_INVALID": 404,
}
"""The status of each refusal the portal's handlers raise (409 when unlisted)."""


def refusal_status(code: str) -> int:
    return REFUSAL_STATUS.get(code, 409)


class PageError(Exception):
    """A page that cannot be shown: a sentence for the person and a stable code."""

    def __init__(self, status: int, code: str, sentence: str, **context: Any) -> None:
        super().__init__(f"{code}: {sentence}")
        self.status = status
        self.code = code
        self.sentence = sentence
        self.context = context


class SignInRequired(Exception):
    def __init__(self, area: Area, next_path: str) -> None:
        super().__init__(next_path)
        self.area = area
        self.next_path = next_path


class AccountChoiceRequired(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


WebDep = Annotated[Web, Depends(dependencies_of(Web))]


@dataclass
class Viewer:
    """Who is looking at a page, and the cookies their response must carry."""

    web: Web
    runtime: Runtime
    request: Request
    browser_id: str
    principal: WebPrincipal | None
    memberships: list[Membership]
    zone: ZoneInfo
    set_cookies: dict[str, str | None] = field(default_factory=dict)

    @property
    def csrf_token(self) -> str:
        session = self.principal.session_id if self.principal else None
        return self.web.csrf_token(self.browser_id, session)

    def api(self) -> AccountApi:
        """The services, for the account this viewer acts for (and only that one)."""
        p = self.principal
        if p is None or p.account is None or p.role != "customer":
            raise PageError(403, "NO_ACCOUNT", "Sign in and pick an account first.")
        return self.web.services.for_account(
            p.email, p.account.account_id, CUSTOMER_SCOPES, self.runtime.clock.now()
        )

    def time(self, value: Any) -> str:
        return display.local_time(value, self.zone)

    def date(self, value: Any) -> str:
        return display.local_date(value, self.zone)


async def viewer(request: Request, runtime: Runtime, web: Web) -> Viewer:
    """Resolve the session (if any): what every page starts from."""
    browser = request.cookies.get(BROWSER_COOKIE)
    set_cookies: dict[str, str | None] = {}
    if not browser or len(browser) > 100:
        browser = secrets.token_urlsafe(24)
        set_cookies[BROWSER_COOKIE] = browser
    principal = None
    memberships: list[Membership] = []
    session = request.cookies.get(SESSION_COOKIE)
    if session and len(session) < 100:
        live = await sessions.resume(
            runtime.pool,
            session,
            runtime.clock.now(),
            timedelta(minutes=web.settings.session_idle_minutes),
        )
        if live is None:
            set_cookies[SESSION_COOKIE] = None
        else:
            principal, memberships = await _principal(runtime, session, live)
    zone = display.zone_or_default(
        unquote(request.cookies.get(ZONE_COOKIE, "")), web.settings.default_timezone
    )
    return Viewer(web, runtime, request, browser, principal, memberships, zone, set_cookies)


async def _principal(
    runtime: Runtime, session: str, live: WebSession
) -> tuple[WebPrincipal, list[Membership]]:
    memberships: list[Membership] = []
    account = None
    if live.role == "customer":
        memberships = await sessions.memberships(runtime.pool, live.email)
        account = next((m for m in memberships if m.account_id == live.account_id), None)
    principal = WebPrincipal(session, live.area, live.role, live.email, account)
    return principal, memberships


async def _viewer_of(request: Request) -> Viewer:
    """The viewer of a request that failed (resolved once more if it failed before)."""
    seen: Viewer | None = getattr(request.state, "viewer", None)
    if seen is not None:
        return seen
    runtime = await get_runtime(request)
    return await viewer(request, runtime, await dependencies_of(Web)(request))


def signed_in(
    area: Area, roles: frozenset[Role] | None = None, need_account: bool = True
) -> Callable[[Request, Runtime, Web], Awaitable[Viewer]]:
    """A dependency: the viewer, signed in to `area` with one of `roles`. Anyone else is
    sent to that area's sign-in; a session of the other area gets a refusal page."""

    async def check(request: Request, runtime: RuntimeDep, web: WebDep) -> Viewer:
        seen = await viewer(request, runtime, web)
        request.state.viewer = seen
        p = seen.principal
        next_path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if p is None:
            raise SignInRequired(area, next_path)
        if not p.may_enter(area, roles):
            raise PageError(
                403,
                "AREA_FORBIDDEN" if p.area != area else "ROLE_FORBIDDEN",
                "This page is not part of what your sign-in lets you use.",
            )
        if need_account and p.role == "customer" and p.account is None:
            raise AccountChoiceRequired(next_path)
        return seen

    return check


async def anyone(request: Request, runtime: RuntimeDep, web: WebDep) -> Viewer:
    seen = await viewer(request, runtime, web)
    request.state.viewer = seen
    return seen


async def form_with_csrf(request: Request, seen: Viewer) -> FormData:
    """The posted form, if it carries this browser's CSRF token; else a refusal page."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(sent, seen.csrf_token):
        raise PageError(
            403,
            "CSRF_TOKEN_INVALID",
            "This form was not sent from this page, or it is too old. Reload the page and try"
            " again.",
        )
    return form


def render(
    seen: Viewer, template: str, context: Mapping[str, Any] | None = None, status: int = 200
) -> Response:
    web = seen.web
    brand = web.brand
    html = web.templates.get_template(template).render(
        viewer=seen,
        principal=seen.principal,
        brand=brand,
        brand_text=text_on(brand.color),
        brand_link=link_colour(brand.color),
        nav=web.nav.get(seen.principal.area if seen.principal else "portal", []),
        path=seen.request.url.path,
        csrf_field=CSRF_FIELD,
        **(context or {}),
    )
    return finish(seen, HTMLResponse(html, status))


def redirect(seen: Viewer, to: str, **params: str) -> Response:
    target = to + (f"?{urlencode(params)}" if params else "")
    return finish(seen, RedirectResponse(target, status_code=303))


def finish(seen: Viewer, response: Response) -> Response:
    for name, value in seen.set_cookies.items():
        if value is None:
            response.delete_cookie(name, path="/")
        else:
            response.set_cookie(
                name,
                value,
                httponly=name != ZONE_COOKIE,  # the page's script may set the zone too
                samesite="lax",
                secure=seen.web.secure_cookies,
                path="/",
                max_age=None if name == SESSION_COOKIE else 60 * 60 * 24 * 365,
            )
    return response


def start_session(seen: Viewer, cookie_value: str) -> None:
    seen.set_cookies[SESSION_COOKIE] = cookie_value


def end_session_cookie(seen: Viewer) -> None:
    seen.set_cookies[SESSION_COOKIE] = None


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# -- errors -----------------------------------------------------------------------------


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(OPERATIONS)


async def _error_page(request: Request, status: int, code: str, sentence: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"code": code, "detail": sentence}, status)
    try:
        seen = await _viewer_of(request)
        return render(seen, "error.html", {"code": code, "sentence": sentence}, status)
    except Exception:  # the error page must never fail in turn
        log.exception("error page failed")
        return HTMLResponse(
            f"<!doctype html><title>Error</title><p>Something went wrong. ({code})</p>", status
        )


async def _page_error(request: Request, exc: PageError) -> Response:
    return await _error_page(request, exc.status, exc.code, exc.sentence)


async def _sign_in_required(request: Request, exc: SignInRequired) -> Response:
    seen = await _viewer_of(request)
    start = "/desk/sign-in" if exc.area == "desk" else "/sign-in"
    return redirect(seen, start, next=exc.next_path)


async def _account_choice(request: Request, exc: AccountChoiceRequired) -> Response:
    seen = await _viewer_of(request)
    return redirect(seen, "/accounts", next=exc.next_path)


_SERVICE_SENTENCES = {
    404: "We could not find that. Check the address, or go back to your list.",
    403: "This is not something your account can see or change.",
    409: "That is not possible in its current state.",
}


async def _service_error(request: Request, exc: ServiceError) -> Response:
    # 401/403/404 from a service look the same to the viewer: nothing is there for them.
    if exc.status == 401:  # the service refused the portal's token: a setup problem
        log.warning("a service refused the access token: %s", exc)
    status = 404 if exc.status in (401, 403, 404) else exc.status
    sentence = exc.detail[:1].upper() + exc.detail[1:] if exc.detail else ""
    if status == 404:
        sentence = _SERVICE_SENTENCES[404]
    return await _error_page(request, status, exc.code, sentence.rstrip(".") + ".")


async def _unavailable(request: Request, exc: ServiceUnavailable) -> Response:
    log.warning("service unavailable: %s", exc)
    return await _error_page(
        request,
        503,
        "SERVICE_UNAVAILABLE",
        "Part of the service is not answering right now. Please try again in a minute.",
    )


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    codes = {404: "PAGE_NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
    sentences = {
        404: "There is no page at this address.",
        405: "This page cannot be used that way.",
    }
    return await _error_page(
        request,
        exc.status_code,
        codes.get(exc.status_code, f"HTTP_{exc.status_code}"),
        sentences.get(exc.status_code, "The request could not be handled."),
    )


async def _refusal(request: Request, exc: Refused) -> Response:
    return await _error_page(request, refusal_status(exc.code), exc.code, exc.detail)


async def _api_error(request: Request, exc: ApiError) -> Response:
    return await _error_page(request, exc.status, exc.code, exc.detail)


async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
    fields = ", ".join(
        str(e["loc"][-1]) for e in exc.errors() if e.get("loc")
    )  # names only: the values may be anything
    return await _error_page(
        request,
        422,
        "INVALID_REQUEST",
        f"Some of what was sent is not valid ({fields}).",
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s", request.url.path)
    return await _error_page(
        request, 500, "INTERNAL_ERROR", "Something went wrong on our side. Please try again."
    )


class SecurityHeaders:
    """Headers every page carries: no framing, no sniffing, no referrer leaving the site
    (sign-in links carry a token), scripts and styles from this site only."""

    HEADERS = (
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
        (
            b"content-security-policy",
            b"default-src 'self'; img-src 'self' https: data:; style-src 'self';"
            b" script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(self.HEADERS)
                if not scope["path"].startswith(("/static/", "/brand.css")):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def configure(app: FastAPI, static_dir: Path) -> None:
    """Pages answer errors as pages; operations routes keep answering JSON."""
    app.add_exception_handler(PageError, _page_error)  # type: ignore[arg-type]
    app.add_exception_handler(SignInRequired, _sign_in_required)  # type: ignore[arg-type]
    app.add_exception_handler(AccountChoiceRequired, _account_choice)  # type: ignore[arg-type]
    app.add_exception_handler(ServiceError, _service_error)  # type: ignore[arg-type]
    app.add_exception_handler(ServiceUnavailable, _unavailable)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(Refused, _refusal)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
    app.mount("/static", StaticFiles(directory=static_dir), name="static")
    app.add_middleware(SecurityHeaders)
