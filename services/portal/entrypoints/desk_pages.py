"""The support desk (`/desk`) for agents and admins: the queue by SLA deadline, refreshed
without a reload (htmx polling; the Refresh link does it without JavaScript), and a ticket
with its timeline, the actions on it and the customer's entitlement beside it.

A desk session opens desk pages only (a customer session gets a refusal page), and acts
through ticketing's API with the person's staff token, which carries ticket scopes only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.runtime.db import Connection

from ..domain import desk
from ..domain import sign_in as rules
from ..domain.apis import StaffApi
from ..handlers.agents import (
    AgentRefused,
    SetPassword,
    SignInFailed,
    desk_role,
    password_sign_in,
    set_password,
)
from ..handlers.sign_in import AreaSignIn
from .sign_in_pages import add_sign_in_routes
from .web import (
    PageError,
    Viewer,
    anyone,
    client_address,
    form_with_csrf,
    redirect,
    refusal_status,
    render,
    signed_in,
    start_session,
)

router = APIRouter(include_in_schema=False)
Desk = Annotated[Viewer, Depends(signed_in("desk"))]
Seen = Annotated[Viewer, Depends(anyone)]
QUEUE_PAGE = 50
REFRESH_SECONDS = 15
NOTE_MAX = 50_000


def staff(seen: Viewer) -> StaffApi:
    p = seen.principal
    assert p is not None and p.area == "desk"
    return seen.web.services.for_staff(p.email, p.role, seen.runtime.clock.now())


def _labels(seen: Viewer) -> dict[str, Any]:
    products = {p.code: p.name for p in seen.web.catalog.products}
    return {
        "tiers": desk.TIERS,
        "statuses": desk.STATUSES,
        "sla_states": desk.SLA_STATES,
        "targets": desk.TARGETS,
        "coverage_words": desk.COVERAGE,
        "key_words": desk.KEY_STATUS,
        "events": desk.EVENTS,
        "products": products,
        "duration": desk.duration,
        "time_left": desk.time_left,
    }


# -- queue ------------------------------------------------------------------------------


async def _queue(request: Request, seen: Viewer) -> dict[str, Any]:
    products = {p.code for p in seen.web.catalog.products}
    query = desk.QueueQuery.of(request.query_params, products)
    me = seen.principal.email if seen.principal else ""
    page = max(int(request.query_params.get("page", "1") or 1), 1) if _digits(request) else 1
    listed = await staff(seen).queue(
        **query.api_filters(me), limit=QUEUE_PAGE, offset=(page - 1) * QUEUE_PAGE
    )
    return {
        "query": query,
        "queue": listed,
        "page": page,
        "mine": desk.assignee_counts(listed.counts["assignee"], me),
        "refresh_seconds": REFRESH_SECONDS,
        **_labels(seen),
    }


def _digits(request: Request) -> bool:
    value = request.query_params.get("page", "1")
    return value.isdigit() and len(value) < 7


@router.get("/desk")
async def desk_home(seen: Desk) -> Response:
    return redirect(seen, "/desk/queue")


@router.get("/desk/queue")
async def queue_page(request: Request, seen: Desk) -> Response:
    return render(seen, "desk/queue.html", await _queue(request, seen))


@router.get("/desk/queue/table")
async def queue_table(request: Request, seen: Desk) -> Response:
    """The queue's table alone: what the page's polling swaps in."""
    return render(seen, "desk/queue_table.html", await _queue(request, seen))


# -- a ticket ---------------------------------------------------------------------------


@router.get("/desk/tickets/{number}")
async def ticket_page(number: str, seen: Desk, done: str = "") -> Response:
    api = staff(seen)
    ticket = await api.ticket(number)
    panel = await api.entitlement(number)
    return render(
        seen,
        "desk/ticket.html",
        {
            "ticket": ticket,
            "panel": panel,
            "cycles": desk.cycle_states(
                ticket.sla.running if ticket.sla else (), seen.runtime.clock.now()
            ),
            "done": desk.ACTIONS.get(done),
            **_labels(seen),
        },
    )


def _text(form: Any, name: str, required: bool) -> str:
    value = str(form.get(name, "")).strip()
    if required and not value:
        raise PageError(422, "TEXT_REQUIRED", "Write the message before sending it.")
    if len(value) > NOTE_MAX:
        raise PageError(422, "TEXT_TOO_LONG", f"A message has at most {NOTE_MAX} characters.")
    return value


@router.post("/desk/tickets/{number}/{action}")
async def ticket_action(number: str, action: str, request: Request, seen: Desk) -> Response:
    form = await form_with_csrf(request, seen)
    api = staff(seen)
    me = seen.principal.email if seen.principal else ""
    match action:
        case "reply":
            await api.ticket_action(
                number, "comments", {"author": "agent", "body": _text(form, "body", True)}
            )
        case "note":
            await api.ticket_action(number, "notes", {"body": _text(form, "body", True)})
        case "pending":
            await api.ticket_action(number, "pending", {"body": _text(form, "body", True)})
        case "solve" | "close":
            await api.ticket_action(number, action, {"by": "agent"} if action == "close" else {})
        case "assign":
            await api.ticket_action(number, "assign", {"assignee": me})
        case "unassign":
            await api.ticket_action(number, "assign", {"assignee": None})
        case _:
            raise PageError(404, "PAGE_NOT_FOUND", "There is no page at this address.")
    return redirect(seen, f"/desk/tickets/{number}", done=action)


# -- sign-in (link or password) and the desk user's own password -------------------------


def add_desk_routes(parent: APIRouter) -> None:
    """The desk's sign-in by link (the foundation's routes under `/desk`), by password, and
    its pages."""
    add_sign_in_routes(parent, DESK_SIGN_IN, "/desk", "/desk/queue", _no_account)

    @parent.post("/desk/sign-in/password", include_in_schema=False)
    async def sign_in_with_password(request: Request, seen: Seen) -> Response:
        form = await form_with_csrf(request, seen)
        web = seen.web
        email = str(form.get("email", "")).strip()[:254]
        next_path = rules.safe_next(str(form.get("next", "/desk/queue")), "/desk/queue")
        try:
            session = await password_sign_in(
                seen.runtime,
                web.sign_in,
                email,
                str(form.get("password", "")),
                client_address(request),
                seen.principal.session_id if seen.principal else None,
                timedelta(hours=web.settings.session_hours),
            )
        except SignInFailed as exc:  # past the limits, the refusal's own error page
            return render(
                seen,
                "sign_in.html",
                {
                    "next": next_path,
                    "prefix": "/desk",
                    "area": "desk",
                    "email": email,
                    "error": (exc.code, exc.detail),
                },
                status=refusal_status(exc.code),
            )
        start_session(seen, session.cookie_value)
        return redirect(seen, next_path)

    parent.include_router(router)


async def _no_account(conn: Connection, email: str) -> str | None:
    return None  # a desk session acts for no customer account


DESK_SIGN_IN = AreaSignIn("desk", desk_role, "/desk/sign-in/link")


@router.get("/desk/account")
async def account_page(seen: Desk, done: str = "") -> Response:
    return render(seen, "desk/account.html", {"done": done == "password"})


@router.post("/desk/account/password")
async def change_password(request: Request, seen: Desk) -> Response:
    form = await form_with_csrf(request, seen)
    password = str(form.get("password", ""))
    if password != str(form.get("repeat", "")):
        return render(
            seen,
            "desk/account.html",
            {"error": ("PASSWORDS_DIFFER", "The two passwords are not the same."), "done": False},
            status=422,
        )
    assert seen.principal is not None
    try:
        await set_password(seen.runtime.pool, SetPassword(seen.principal.email, password))
    except AgentRefused as exc:
        return render(
            seen,
            "desk/account.html",
            {"error": (exc.code, exc.detail), "done": False},
            refusal_status(exc.code),
        )
    return redirect(seen, "/desk/account", done="password")
