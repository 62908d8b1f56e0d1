"""Ticketing's HTTP API."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from entitle_events.common import AccountId, Email, Line, Text
from entitle_events.ticketing import SupportTier, TicketKind
from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import BaseModel, Field

from services.runtime.auth import Principal
from services.runtime.errors import ApiError
from services.runtime.http import (
    MAX_OFFSET,
    ErrorBody,
    RuntimeDep,
    ValidationErrorBody,
    dependencies_of,
    errors,
    require,
)
from services.runtime.service import Runtime

from ..domain import lifecycle as lc
from ..domain.queue import QueueFilter, SlaState, TicketFilter
from ..domain.records import TicketRow
from ..domain.tiers import RefusalCode
from ..domain.views import EntitlementPanel, Queue, SlaView, Status
from ..handlers.common import Actor, Author, Ticketing
from ..handlers.tickets import (
    NewTicket,
    Rejected,
    add_note,
    assign,
    open_ticket,
    preview_ticket,
    run_command,
)
from ..handlers.views import (
    entitlement_panel,
    queue_view,
    sla_view,
    ticket_with_history,
    tickets_page,
)
from .dependencies import TicketingDependencies

router = APIRouter(tags=["tickets"])
ActorName = Annotated[
    str | None,
    Field(
        default=None,
        max_length=200,
        description="Who acts (an agent's address) when an API key is used; a staff or access"
        " token names its person itself. Default: the API key's name. Recorded in the timeline"
        " and on the events.",
    ),
]
# Refusals about entitlement are 403, a request about a discontinued version is 422, an
# unknown ticket 404; a lifecycle transition the state does not allow (unlisted) is 409.
REFUSAL_STATUS: dict[str, int] = {
    **dict.fromkeys(get_args(RefusalCode), 403),
    "VERSION_DISCONTINUED": 422,
    "TICKET_NOT_FOUND": 404,
}
Cfg = Annotated[TicketingDependencies, Depends(dependencies_of(TicketingDependencies))]


class TicketRequest(BaseModel):
    account_id: AccountId
    email: Email
    license_key: Line | None = Field(default=None, max_length=1000)
    product: Line = Field(min_length=1, max_length=120)
    version: Line = Field(min_length=1, max_length=40)
    kind: TicketKind = "technical"
    subject: Line = Field(min_length=1, max_length=300)
    body: Text = Field(min_length=1, max_length=50_000)
    request_id: Line | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Idempotency key (like the `Idempotency-Key` header): a retry with the same"
        " key returns the same ticket and consumes no second incident credit.",
    )


class TicketCreated(BaseModel):
    number: str
    tier: SupportTier
    status: Status
    first_response_due: datetime | None
    ticket_id: str
    link: str


class SupportOptions(BaseModel):
    accepted: bool
    tier: SupportTier
    allowed_kinds: list[TicketKind]
    first_response_due: datetime | None
    code: str | None = Field(default=None, description="Why a request would be refused.")
    reason: str | None = None
    pointer: str | None = Field(default=None, description="Where to go instead (forum, ...).")


class TicketView(BaseModel):
    number: str
    ticket_id: str
    account_id: str
    email: str
    license_key: str | None
    product: str
    version: str
    kind: TicketKind
    subject: str
    tier: SupportTier
    status: Status
    opened_at: datetime
    updated_at: datetime
    first_response_due: datetime | None
    first_response_at: datetime | None
    contact_attempts: int
    auto_close_at: datetime | None
    breached: bool
    link: str
    assignee: str | None = Field(default=None, description="Agents only; null for customers.")
    tier_at_open: SupportTier


class TimelineEntry(BaseModel):
    at: datetime
    type: str = Field(
        description="opened, responded, pending, customer_replied, solved, closed, reopened,"
        " survey_answered (public); note, assigned, tier_changed, sla_warning, sla_breached"
        " (internal: agents only)."
    )
    author: str | None = Field(description="agent, customer or system.")
    actor: str | None = Field(description="Who did it.")
    visibility: Literal["public", "internal"]
    body: str | None
    detail: dict[str, Any]


class Timeline(BaseModel):
    items: list[TimelineEntry]


class TicketDetail(TicketView):
    body: str
    survey: dict[str, Any] | None
    timeline: list[TimelineEntry]
    tier_reason: str | None = Field(default=None, description="Agents only: why this tier.")
    sla: SlaView | None = Field(default=None, description="Agents only.")


class TicketList(BaseModel):
    items: list[TicketView]
    next_offset: int | None = None


class Comment(BaseModel):
    author: Literal["agent", "customer"]
    body: Text = Field(min_length=1, max_length=50_000)
    actor: ActorName = None


class PendingRequest(BaseModel):
    body: Text = Field(default="", max_length=50_000)
    actor: ActorName = None


class ActionRequest(BaseModel):
    actor: ActorName = None


class NoteRequest(BaseModel):
    body: Text = Field(min_length=1, max_length=50_000)
    actor: ActorName = None


class AssignRequest(BaseModel):
    assignee: Email | None = Field(description="The agent's address; null: unassign.")
    actor: ActorName = None


class CloseRequest(BaseModel):
    actor: ActorName = None
    by: Literal["agent", "customer"] | None = Field(
        default=None,
        description="customer: closes in any state; agent: closes a solved ticket. Default:"
        " customer for a customer-scoped key, else agent.",
    )


class SurveyRequest(BaseModel):
    rating: int = Field(description="1 (poor) to 5 (excellent).")
    comment: Text = Field(default="", max_length=10_000)


def _view(cfg: Ticketing, row: TicketRow, breached: bool, principal: Principal) -> dict[str, Any]:
    return {
        **{k: getattr(row, k) for k in TicketView.model_fields if hasattr(row, k)},
        "first_response_at": row.state.first_response_at,
        "contact_attempts": row.state.contact_attempts,
        "breached": breached,
        "link": cfg.link(row.number),
        "assignee": row.assignee if principal.account_id is None else None,
    }


def _agent_only(principal: Principal) -> None:
    if principal.account_id is not None:
        raise ApiError(403, "AGENTS_ONLY", "a customer-scoped key cannot act as an agent")


def _actor(principal: Principal, role: Author, given: str | None) -> Actor:
    """Who acts: the person a token names (verified), else the one an API key's caller names,
    else the key itself."""
    return Actor(role, principal.person or given or principal.name)


@router.post(
    "/tickets",
    response_model=TicketCreated,
    status_code=201,
    summary="Open a support ticket; the tier follows the live entitlement",
    responses={
        **errors(401),
        200: {
            "model": TicketCreated,
            "description": "A retry with the same idempotency key: the same ticket.",
        },
        403: {
            "model": ErrorBody,
            "description": "Refused (FORUM_ONLY, RESTORE_NEEDS_PLAN, ...) with a pointer.",
        },
        422: {
            "model": ValidationErrorBody,
            "description": "VERSION_DISCONTINUED or an invalid request.",
        },
    },
)
async def create_ticket(
    body: TicketRequest,
    response: Response,
    runtime: RuntimeDep,
    deps: Cfg,
    principal: Annotated[Principal, Depends(require("tickets:write"))],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    if not principal.may_see(body.account_id):
        raise ApiError(403, "FORBIDDEN", "this API key may open tickets only for its account")
    cfg = deps.ticketing
    request = NewTicket(
        account_id=body.account_id,
        email=body.email,
        license_key=body.license_key,
        product=body.product,
        version=body.version,
        kind=body.kind,
        subject=body.subject,
        body=body.body,
        actor=principal.person,
    )
    outcome = await open_ticket(runtime, cfg, request, idempotency_key or body.request_id)
    if isinstance(outcome, Rejected):  # it answers with the pointer, so not as a Refused
        d = outcome.decision
        code = d.code or "REFUSED"
        raise ApiError(
            REFUSAL_STATUS.get(code, 403),
            code,
            d.reason or "the request was refused",
            pointer=d.pointer,
            tier=d.tier,
            request_id=outcome.request_id,
        )
    row = outcome.row
    if not outcome.created:
        response.status_code = 200
    return {
        "number": row.number,
        "tier": row.tier,
        "status": row.status,
        "first_response_due": row.first_response_due,
        "ticket_id": row.ticket_id,
        "link": cfg.link(row.number),
    }


@router.get(
    "/support-options",
    response_model=SupportOptions,
    summary="The tier and first-response time a request opened now would get, or its refusal",
    responses=errors(401, 403),
)
async def support_options(
    account: Annotated[str, Query(min_length=1, max_length=120)],
    product: Annotated[str, Query(min_length=1, max_length=120)],
    version: Annotated[str, Query(min_length=1, max_length=40)],
    runtime: RuntimeDep,
    deps: Cfg,
    principal: Annotated[Principal, Depends(require("tickets:read"))],
    kind: TicketKind = "technical",
) -> SupportOptions:
    if not principal.may_see(account):
        raise ApiError(403, "FORBIDDEN", "this API key sees only its own account")
    found = await preview_ticket(runtime, deps.ticketing, account, product, version, kind)
    d = found.decision
    return SupportOptions(
        accepted=d.accepted,
        tier=d.tier,
        allowed_kinds=sorted(d.allowed_kinds),
        first_response_due=found.first_response_due,
        code=d.code,
        reason=d.reason,
        pointer=d.pointer,
    )


@router.get(
    "/tickets", response_model=TicketList, summary="List tickets", responses=errors(401, 403)
)
async def list_tickets(
    runtime: RuntimeDep,
    deps: Cfg,
    principal: Annotated[Principal, Depends(require("tickets:read"))],
    status: Status | None = None,
    tier: SupportTier | None = None,
    breached: bool | None = None,
    account: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any]:
    if principal.account_id is not None:
        if account is not None and account != principal.account_id:
            raise ApiError(403, "FORBIDDEN", "this API key sees only its own account")
        account = principal.account_id
    f = TicketFilter(account_id=account, status=status, tier=tier, breached=breached)
    rows = await tickets_page(runtime, f, limit + 1, offset)
    more = len(rows) > limit
    return {
        "items": [_view(deps.ticketing, r.ticket, r.breached, principal) for r in rows[:limit]],
        "next_offset": offset + limit if more else None,
    }


async def _detail(
    runtime: Runtime, cfg: Ticketing, number: str, principal: Principal
) -> dict[str, Any]:
    agent = principal.account_id is None
    found = await ticket_with_history(
        runtime, number, visible_to=principal.account_id, internal=agent
    )
    row = found.ticket
    survey = row.state.survey
    return {
        **_view(cfg, row, found.breached, principal),
        "body": row.body,
        "survey": None
        if survey is None
        else {
            "rating": survey.rating,
            "comment": survey.comment,
            "answered_at": survey.answered_at,
        },
        "timeline": [asdict(e) for e in found.timeline],
        "tier_reason": row.tier_reason if agent else None,
        "sla": sla_view(cfg, row, runtime.clock.now()) if agent else None,
    }


@router.get(
    "/tickets/{number}",
    response_model=TicketDetail,
    summary="A ticket with timeline",
    responses=errors(401, 403, 404),
)
async def get_ticket(
    number: str,
    runtime: RuntimeDep,
    deps: Cfg,
    principal: Annotated[Principal, Depends(require("tickets:read"))],
) -> dict[str, Any]:
    return await _detail(runtime, deps.ticketing, number, principal)


async def _command(
    runtime: Runtime,
    deps: TicketingDependencies,
    principal: Principal,
    number: str,
    command: lc.Command,
    actor: Actor,
) -> dict[str, Any]:
    await run_command(runtime, deps.ticketing, number, command, actor, principal.account_id)
    return await _detail(runtime, deps.ticketing, number, principal)


Writer = Annotated[Principal, Depends(require("tickets:write"))]
# What a command on a ticket can answer besides the ticket: the key, the ticket, the state.
COMMAND_ERRORS = errors(401, 403, 404, 409)


@router.post(
    "/tickets/{number}/comments",
    response_model=TicketDetail,
    summary="A message: from an agent (a contact attempt while pending) or the customer",
    responses=COMMAND_ERRORS,
)
async def comment(
    number: str, body: Comment, runtime: RuntimeDep, deps: Cfg, principal: Writer
) -> Any:
    command: lc.Command
    if body.author == "agent":
        _agent_only(principal)
        command = lc.AgentRespond(body.body)
    else:
        command = lc.CustomerReply(body.body)
    actor = _actor(principal, body.author, body.actor)
    return await _command(runtime, deps, principal, number, command, actor)


@router.post(
    "/tickets/{number}/pending",
    response_model=TicketDetail,
    summary="An agent asks the customer for information: the ticket waits on the customer",
    responses=COMMAND_ERRORS,
)
async def pending(
    number: str,
    runtime: RuntimeDep,
    deps: Cfg,
    principal: Writer,
    body: PendingRequest | None = None,
) -> Any:
    _agent_only(principal)
    text = body.body if body else ""
    actor = _actor(principal, "agent", body.actor if body else None)
    return await _command(runtime, deps, principal, number, lc.AgentRequestInfo(text), actor)


@router.post(
    "/tickets/{number}/solve",
    response_model=TicketDetail,
    summary="Mark solved",
    responses=COMMAND_ERRORS,
)
async def solve(
    number: str,
    runtime: RuntimeDep,
    deps: Cfg,
    principal: Writer,
    body: ActionRequest | None = None,
) -> Any:
    _agent_only(principal)
    actor = _actor(principal, "agent", body.actor if body else None)
    return await _command(runtime, deps, principal, number, lc.Solve(), actor)


@router.post(
    "/tickets/{number}/close",
    response_model=TicketDetail,
    summary="Close",
    responses=COMMAND_ERRORS,
)
async def close(
    number: str, runtime: RuntimeDep, deps: Cfg, principal: Writer, body: CloseRequest | None = None
) -> Any:
    by = (body.by if body else None) or ("customer" if principal.account_id else "agent")
    actor = _actor(principal, by, body.actor if body else None)
    if by == "agent":
        _agent_only(principal)
        return await _command(runtime, deps, principal, number, lc.Close(), actor)
    return await _command(runtime, deps, principal, number, lc.CustomerClose(), actor)


@router.post(
    "/tickets/{number}/reopen",
    response_model=TicketDetail,
    summary="Reopen",
    responses=COMMAND_ERRORS,
)
async def reopen(
    number: str,
    runtime: RuntimeDep,
    deps: Cfg,
    principal: Writer,
    body: ActionRequest | None = None,
) -> Any:
    author: Author = "customer" if principal.account_id else "agent"
    actor = _actor(principal, author, body.actor if body else None)
    return await _command(runtime, deps, principal, number, lc.Reopen(), actor)


@router.post(
    "/tickets/{number}/survey",
    response_model=TicketDetail,
    summary="Answer the survey once",
    responses=COMMAND_ERRORS,
)
async def survey(
    number: str, body: SurveyRequest, runtime: RuntimeDep, deps: Cfg, principal: Writer
) -> Any:
    command = lc.AnswerSurvey(body.rating, body.comment)
    actor = _actor(principal, "customer", None)
    return await _command(runtime, deps, principal, number, command, actor)


@router.post(
    "/tickets/{number}/notes",
    response_model=TicketDetail,
    summary="An internal note: agents only, shown in their timeline, never emailed",
    responses=errors(401, 403, 404),
)
async def note(
    number: str, body: NoteRequest, runtime: RuntimeDep, deps: Cfg, principal: Writer
) -> Any:
    _agent_only(principal)
    await add_note(
        runtime, deps.ticketing, number, body.body, _actor(principal, "agent", body.actor)
    )
    return await _detail(runtime, deps.ticketing, number, principal)


@router.post(
    "/tickets/{number}/assign",
    response_model=TicketDetail,
    summary="Assign the ticket to an agent (the desk's *Assign to me*), or unassign it",
    responses=errors(401, 403, 404),
)
async def assign_ticket(
    number: str, body: AssignRequest, runtime: RuntimeDep, deps: Cfg, principal: Writer
) -> Any:
    _agent_only(principal)
    actor = _actor(principal, "agent", body.actor)
    await assign(runtime, deps.ticketing, number, body.assignee, actor)
    return await _detail(runtime, deps.ticketing, number, principal)


Reader = Annotated[Principal, Depends(require("tickets:read"))]


@router.get(
    "/tickets/{number}/timeline",
    response_model=Timeline,
    summary="The ticket's timeline (a customer key sees only what was sent to the customer)",
    responses=errors(401, 403, 404),
)
async def ticket_timeline(number: str, runtime: RuntimeDep, deps: Cfg, principal: Reader) -> Any:
    detail = await _detail(runtime, deps.ticketing, number, principal)
    return {"items": detail["timeline"]}


@router.get(
    "/tickets/{number}/entitlement",
    response_model=EntitlementPanel,
    summary="The customer's entitlement beside a ticket: licenses of the product, coverage,"
    " plans, incident credits, version support, and why the ticket has its tier",
    responses=errors(401, 403, 404),
)
async def ticket_entitlement(
    number: str, runtime: RuntimeDep, deps: Cfg, principal: Reader
) -> EntitlementPanel:
    _agent_only(principal)
    return await entitlement_panel(runtime, deps.ticketing, number)


@router.get(
    "/queue",
    response_model=Queue,
    summary="The agents' queue: tickets by their nearest SLA deadline, with filters and counts",
    responses=errors(401, 403),
)
async def agent_queue(
    runtime: RuntimeDep,
    deps: Cfg,
    principal: Reader,
    tier: SupportTier | None = None,
    status: Annotated[
        list[Status] | None,
        Query(description="Repeat for several; default new, open and pending."),
    ] = None,
    product: Annotated[str | None, Query(max_length=120)] = None,
    assignee: Annotated[
        str | None, Query(max_length=320, description="An agent's address, or `none`.")
    ] = None,
    sla: SlaState | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Queue:
    _agent_only(principal)
    f = QueueFilter(
        tier=tier,
        statuses=tuple(status) if status else QueueFilter.statuses,
        product=product,
        assignee=assignee,
        sla=sla,
    )
    return await queue_view(runtime, deps.ticketing, f, limit, offset)
