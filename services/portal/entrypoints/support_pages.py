"""Support requests (seed 004): submit one (seeing the tier and first-response time, or the
refusal and where to go), my requests, a request's timeline, comment, close, reopen, survey."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..domain import display
from ..domain.answers import SupportOptions
from ..domain.apis import NewTicket, ServiceError
from .web import PageError, Viewer, form_with_csrf, redirect, render, signed_in

router = APIRouter()
Customer = Annotated[Viewer, Depends(signed_in("portal"))]
PAGE_SIZE = 20
KINDS = {
    "technical": "Technical problem",
    "restore": "Restore assistance",
    "setup": "Setup assistance",
    "presales": "Question before buying",
}
TIERS = {
    "priority": "Priority support",
    "per_incident": "Per-incident support",
    "trial": "Trial support",
    "basic": "Email support",
    "forum": "Community forum",
    "partner": "Partner support",
}
STATUSES = {
    "new": "New",
    "open": "Open",
    "pending": "Waiting for you",
    "solved": "Solved",
    "closed": "Closed",
}
EVENTS = {
    "opened": "Request opened",
    "responded": "Reply from support",
    "pending": "Support asked you for information",
    "customer_replied": "Your comment",
    "solved": "Marked solved",
    "closed": "Closed",
    "reopened": "Reopened",
    "survey_answered": "Survey answered",
    "sla_breached": "Response time exceeded",
}
DONE = {
    "created": "Your request was received.",
    "commented": "Your comment was added.",
    "closed": "The request is closed.",
    "reopened": "The request is open again.",
    "surveyed": "Thank you for your answer.",
}


def _labels() -> dict[str, Any]:
    return {"kinds": KINDS, "tiers": TIERS, "statuses": STATUSES, "events": EVENTS}


@router.get("/support")
async def my_requests(seen: Customer, page: int = 1, status: str = "") -> Response:
    page = max(page, 1)
    chosen = status if status in STATUSES else None
    listed = await seen.api().tickets(PAGE_SIZE, (page - 1) * PAGE_SIZE, chosen)
    current = display.Page(list(listed.items), page, PAGE_SIZE, listed.next_offset is not None)
    return render(
        seen,
        "support.html",
        {"page": current, "status": chosen or "", "query": {"status": chosen or ""}, **_labels()},
    )


async def _new_form(
    seen: Viewer,
    values: dict[str, str],
    options: SupportOptions | None = None,
    problem: tuple[str, str] | None = None,
    status: int = 200,
) -> Response:
    values = {name: "" for name in FIELDS} | values
    licenses = await seen.api().all_licenses()
    products = list(seen.web.catalog.products)
    return render(
        seen,
        "support_new.html",
        {
            "values": values,
            "options": options,
            "problem": problem,
            "products": products,
            "licenses": licenses,
            "request_id": values.get("request_id") or str(uuid.uuid4()),
            **_labels(),
        },
        status,
    )


@router.get("/support/new")
async def new_request(seen: Customer, product: str = "", license_key: str = "") -> Response:
    return await _new_form(seen, {"product": product, "license_key": license_key})


FIELDS = ("product", "version", "kind", "subject", "body", "license_key", "request_id")


@router.post("/support/new")
async def submit_request(request: Request, seen: Customer) -> Response:
    form = await form_with_csrf(request, seen)
    values = {name: str(form.get(name, "")).strip() for name in FIELDS}
    if values["kind"] not in KINDS:
        values["kind"] = "technical"
    missing = [n for n in ("product", "version") if not values[n]]
    if form.get("action") != "check":
        missing += [n for n in ("subject", "body") if not values[n]]
    if missing:
        return await _new_form(
            seen,
            values,
            problem=("FIELDS_MISSING", f"Fill in: {', '.join(missing)}."),
            status=422,
        )
    api = seen.api()
    if form.get("action") == "check":
        options = await api.support_options(values["product"], values["version"], values["kind"])
        return await _new_form(seen, values, options)
    assert seen.principal is not None and seen.principal.account is not None
    ticket = NewTicket(
        account_id=seen.principal.account.account_id,
        email=seen.principal.email,
        product=values["product"],
        version=values["version"],
        kind=values["kind"],
        subject=values["subject"],
        body=values["body"],
        license_key=values["license_key"] or None,
    )
    try:
        number = await api.open_ticket(ticket, values["request_id"] or str(uuid.uuid4()))
    except ServiceError as exc:
        if exc.status in (401, 404):
            raise
        refusal = SupportOptions(
            accepted=False,
            code=exc.code,
            reason=exc.detail,
            pointer=exc.body.get("pointer"),
            tier=exc.body.get("tier"),
        )
        return await _new_form(seen, values, refusal, status=exc.status)
    return redirect(seen, f"/tickets/{number}", done="created")


@router.get("/tickets/{number}")
async def ticket_page(number: str, seen: Customer, done: str = "") -> Response:
    ticket = await seen.api().ticket(number)
    product = seen.web.catalog.product(ticket.product)
    return render(
        seen,
        "ticket.html",
        {
            "ticket": ticket,
            "product_name": product.name if product else ticket.product,
            "done": DONE.get(done),
            **_labels(),
        },
    )


@router.get("/tickets/{number}/survey")
async def survey_page(number: str, seen: Customer) -> Response:
    ticket = await seen.api().ticket(number)
    return render(seen, "survey.html", {"ticket": ticket, **_labels()})


COMMANDS = {
    "comments": "commented",
    "close": "closed",
    "reopen": "reopened",
    "survey": "surveyed",
}


@router.post("/tickets/{number}/{command}")
async def ticket_command(number: str, command: str, request: Request, seen: Customer) -> Response:
    if command not in COMMANDS:
        raise PageError(404, "PAGE_NOT_FOUND", "There is no page at this address.")
    form = await form_with_csrf(request, seen)
    body: dict[str, Any] | None = None
    if command == "comments":
        text = str(form.get("body", "")).strip()
        if not text:
            raise PageError(422, "COMMENT_EMPTY", "Write a comment before sending it.")
        body = {"author": "customer", "body": text}
    elif command == "close":
        body = {"by": "customer"}
    elif command == "reopen" and form.get("not_new") != "yes":
        raise PageError(
            422,
            "REOPEN_NOT_CONFIRMED",
            "Confirm that your comment is about this request, not a new issue, to reopen it.",
        )
    elif command == "survey":
        try:
            rating = int(str(form.get("rating", "")))
        except ValueError:
            rating = 0
        if not 1 <= rating <= 5:
            raise PageError(422, "RATING_MISSING", "Pick a rating from 1 to 5.")
        body = {"rating": rating, "comment": str(form.get("comment", "")).strip()}
    api = seen.api()
    await api.ticket(number)  # the account must see the ticket first (404 otherwise)
    await api.ticket_command(number, command, body)
    if command == "reopen" and (text := str(form.get("body", "")).strip()):
        await api.ticket_command(number, "comments", {"author": "customer", "body": text})
    return redirect(seen, f"/tickets/{number}", done=COMMANDS[command])
