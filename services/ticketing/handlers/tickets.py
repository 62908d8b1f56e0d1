"""Ticket commands: open a ticket (tier and SLA from the live entitlement, or from the
license the ticket names), apply lifecycle commands, assign, add internal notes. State,
timeline and events commit together; every entry names who did it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

from entitle_events.ticketing import (
    SurveyAnswered,
    TicketAssigned,
    TicketClosed,
    TicketCustomerReplied,
    TicketKind,
    TicketNoteAdded,
    TicketOpened,
    TicketPending,
    TicketRejected,
    TicketReopened,
    TicketResponded,
    TicketSolved,
)

from services.runtime.context import Context, Transactions
from services.runtime.errors import Refused

from ..adapters import store
from ..domain import cycles
from ..domain import lifecycle as lc
from ..domain.records import TicketRequest, TicketRow
from ..domain.sla import due_at
from ..domain.tiers import TierDecision, decide_support, explain
from .common import Actor, Tally, Ticketing, derive, finish_cycles, load_row, ref
from .entitlement import check_license_key, key_note, next_review


@dataclass(frozen=True, slots=True)
class NewTicket(TicketRequest):
    actor: str | None = None
    """Who opens it, when not the requester (an agent's address)."""


@dataclass(frozen=True)
class Opened:
    row: TicketRow
    created: bool


@dataclass(frozen=True)
class Rejected:
    """A request the entitlement does not allow: the decision says why and where to go."""

    decision: TierDecision
    request_id: str


def not_found(number: str) -> Refused:
    return Refused("TICKET_NOT_FOUND", f"no ticket {number}")


# -- opening ----------------------------------------------------------------------------


async def _reject(
    ctx: Context, req: NewTicket, decision: TierDecision, key: str | None
) -> Rejected:
    request_id = key or str(uuid.uuid4())
    fresh = True
    if key is not None:
        fresh = await store.record_rejection(
            ctx.conn, req.account_id, key, decision.code, ctx.now()
        )
    if fresh:
        ctx.emit(
            TicketRejected(
                request_id=request_id,
                account_id=req.account_id,
                email=req.email,
                product=req.product,
                version=req.version,
                code=decision.code or "REFUSED",
                reason=decision.reason or "",
                pointer=decision.pointer,
            ),
            subject=request_id,
        )
    return Rejected(decision, request_id)


@dataclass(frozen=True)
class Preview:
    decision: TierDecision
    first_response_due: datetime | None


async def preview_ticket(
    db: Transactions, cfg: Ticketing, account_id: str, product: str, version: str, kind: TicketKind
) -> Preview:
    """What opening this request now would give: its tier and first-response due time, or
    the refusal. Nothing is stored and no credit is used."""
    async with db.transaction() as ctx:
        now = ctx.now().astimezone(UTC)
        facts = await store.entitlement_facts(
            ctx.conn,
            account_id,
            product,
            version,
            now,
            catalog=cfg.catalog,
            setup_products=frozenset(cfg.settings.setup_assistance_products),
        )
    decision = decide_support(facts, cfg.policy, kind, now)
    targets = cfg.sla.get(decision.tier) if decision.accepted else None
    due = None
    if targets is not None and targets.first_response is not None:
        due = due_at(cfg.calendar, now, targets.first_response)
    return Preview(decision, due)


async def open_ticket(
    db: Transactions, cfg: Ticketing, req: NewTicket, key: str | None
) -> Opened | Rejected:
    """Decide the tier, start the SLA clock, consume a credit; the same key: the same ticket."""
    async with db.transaction() as ctx:
        conn = ctx.conn
        # One opening per account at a time: credits and idempotency keys stay exact.
        await store.lock_openings_of(conn, req.account_id)
        if key is not None:
            existing = await store.ticket_by_key(conn, req.account_id, key)
            if existing is not None:
                return Opened(existing, created=False)
        now = ctx.now().astimezone(UTC)
        license_check = await check_license_key(conn, req.license_key, req.account_id, req.product)
        facts = await store.entitlement_facts(
            conn,
            req.account_id,
            req.product,
            req.version,
            now,
            catalog=cfg.catalog,
            setup_products=frozenset(cfg.settings.setup_assistance_products),
            license_id=license_check.license_id,
        )
        decision = decide_support(facts, cfg.policy, req.kind, now)
        if not decision.accepted:
            return await _reject(ctx, req, decision, key)
        seq = await store.next_ticket_seq(conn)
        number = f"T-{now.year}-{seq:06d}"
        ticket_id = str(uuid.uuid4())
        ticket, events = lc.open_ticket(ticket_id, now)
        clock, _ = cycles.on_events(
            cycles.SlaClock(), events, ticket, cfg.sla.get(decision.tier), cfg.calendar
        )
        first = clock.cycle("first_response")
        first_due = cycles.cycle_due(cfg.calendar, first, ()) if first else None
        row = TicketRow(
            ticket_id=ticket_id,
            number=number,
            tier=decision.tier,
            tier_at_open=decision.tier,
            credit_used=decision.consumes_credit,
            tier_reason=explain(decision, facts, cfg.policy),
            **{f.name: getattr(req, f.name) for f in fields(TicketRequest)},
            license_id=license_check.license_id,
            license_key_status=license_check.status,
            reevaluate_at=await next_review(
                conn, cfg, req.account_id, req.product, license_check.license_id, now
            ),
            status=ticket.status,
            opened_at=now,
            updated_at=now,
            first_response_due=first_due,
            state=ticket,
        )
        row = derive(cfg, row, ticket, clock, now)  # the clock and the columns it decides
        await store.insert_ticket(conn, row, key)
        if decision.consumes_credit:
            await store.use_credit(conn, ticket_id, req.account_id, now)
        actor = req.actor or req.email
        await store.add_timeline(
            conn,
            ticket_id,
            now,
            "opened",
            "customer",
            req.body,
            {
                "tier": decision.tier,
                "credit_used": decision.consumes_credit,
                "status": "new",
                "reason": row.tier_reason,
            },
            actor=actor,
        )
        note = key_note(license_check, req.license_key)
        if note is not None:
            await store.add_timeline(
                conn,
                ticket_id,
                now,
                "note",
                "system",
                note,
                {"code": license_check.status},
                actor="system",
                internal=True,
            )
        ctx.emit(
            TicketOpened(
                **ref(cfg, row, actor),
                subject=req.subject,
                product=req.product,
                version=req.version,
                kind=req.kind,
                tier=decision.tier,
                license_key=req.license_key if license_check.trusted else None,
                opened_at=now,
                first_response_due=first_due,
            ),
            subject=ticket_id,
            correlationid=ticket_id,
        )
        return Opened(row, created=True)


# -- lifecycle --------------------------------------------------------------------------


async def _emit(
    ctx: Context, cfg: Ticketing, row: TicketRow, events: list[lc.Event], actor: Actor
) -> None:
    r = ref(cfg, row, actor.name)
    tid = row.ticket_id
    conn = ctx.conn
    status = row.status

    async def entry(
        at: Any, type_: str, body: str | None = None, detail: dict[str, Any] | None = None
    ) -> None:
        await store.add_timeline(
            conn,
            tid,
            at,
            type_,
            actor.role,
            body,
            {**(detail or {}), "status": status},
            actor=actor.name,
        )

    for e in events:
        match e:
            case lc.Responded():
                ctx.emit(TicketResponded(**r, body=e.body, responded_at=e.at), subject=tid)
                await entry(e.at, "responded", e.body, {"first": e.first_response})
            case lc.Pending():
                ctx.emit(
                    TicketPending(
                        **r, body=e.body, contact_attempt=e.contact_attempt, pending_at=e.at
                    ),
                    subject=tid,
                )
                await entry(e.at, "pending", e.body, {"attempt": e.contact_attempt})
            case lc.CustomerReplied():
                ctx.emit(TicketCustomerReplied(**r, body=e.body, replied_at=e.at), subject=tid)
                await entry(e.at, "customer_replied", e.body)
            case lc.Solved():
                ctx.emit(TicketSolved(**r, solved_at=e.at), subject=tid)
                await entry(e.at, "solved")
            case lc.Closed():
                ctx.emit(
                    TicketClosed(
                        **r, closed_at=e.at, reason=e.reason, survey_link=r["link"] + "/survey"
                    ),
                    subject=tid,
                )
                await entry(e.at, "closed", None, {"reason": e.reason})
            case lc.Reopened():
                ctx.emit(TicketReopened(**r, reopened_at=e.at), subject=tid)
                await entry(e.at, "reopened")
            case lc.SurveyAnswered():
                ctx.emit(
                    SurveyAnswered(**r, rating=e.rating, comment=e.comment, answered_at=e.at),
                    subject=tid,
                )
                await entry(e.at, "survey_answered", e.comment, {"rating": e.rating})
            case lc.Opened():
                pass


async def apply_to_row(
    ctx: Context,
    cfg: Ticketing,
    row: TicketRow,
    command: lc.Command,
    actor: Actor,
    tally: Tally,
) -> TicketRow:
    """Apply a command to a locked ticket row; persist, record and emit. TransitionError
    propagates with nothing written."""
    ticket, clock = await load_row(ctx, cfg, row)
    ticket, events = lc.apply(ticket, command, ctx.now())
    clock, ended = cycles.on_events(clock, events, ticket, cfg.sla.get(row.tier), cfg.calendar)
    row = derive(cfg, row, ticket, clock, ctx.now())
    await store.update_ticket(ctx.conn, row)
    await _emit(ctx, cfg, row, events, actor)
    await finish_cycles(ctx, cfg, row, ended, tally)
    return row


async def _locked(ctx: Context, number: str, visible_to: str | None) -> TicketRow:
    row = await store.ticket_by_number(ctx.conn, number, lock=True)
    if row is None or (visible_to is not None and row.account_id != visible_to):
        raise not_found(number)
    return row


async def run_command(
    db: Transactions,
    cfg: Ticketing,
    number: str,
    command: lc.Command,
    actor: Actor,
    visible_to: str | None,
) -> TicketRow:
    """Apply a lifecycle command to ticket `number` (`visible_to`: only if it is of that
    account); a transition the state does not allow is refused with nothing written."""
    tally = Tally()
    try:
        async with db.transaction() as ctx:
            row = await _locked(ctx, number, visible_to)
            result = await apply_to_row(ctx, cfg, row, command, actor, tally)
    except lc.TransitionError as exc:
        raise Refused(exc.code, exc.detail) from None
    tally.flush()
    return result


async def assign(
    db: Transactions, cfg: Ticketing, number: str, assignee: str | None, actor: Actor
) -> TicketRow:
    """Make `assignee` (an agent's address; None: nobody) responsible for the ticket. The
    same assignee again changes nothing and emits nothing."""
    async with db.transaction() as ctx:
        row = await _locked(ctx, number, None)
        previous = row.assignee
        if previous == assignee:
            return row
        row = replace(row, assignee=assignee)
        await store.update_ticket(ctx.conn, row)
        now = ctx.now()
        ctx.emit(
            TicketAssigned(
                **ref(cfg, row, actor.name),
                assignee=assignee,
                previous_assignee=previous,
                assigned_at=now,
            ),
            subject=row.ticket_id,
        )
        await store.add_timeline(
            ctx.conn,
            row.ticket_id,
            now,
            "assigned",
            actor.role,
            None,
            {"assignee": assignee, "previous": previous},
            actor=actor.name,
            internal=True,
        )
        return row


async def add_note(
    db: Transactions, cfg: Ticketing, number: str, body: str, actor: Actor
) -> TicketRow:
    """An internal note: in the agents' timeline only, never emailed (in any status)."""
    async with db.transaction() as ctx:
        row = await _locked(ctx, number, None)
        now = ctx.now()
        ctx.emit(
            TicketNoteAdded(**ref(cfg, row, actor.name), body=body, noted_at=now),
            subject=row.ticket_id,
        )
        await store.add_timeline(
            ctx.conn,
            row.ticket_id,
            now,
            "note",
            actor.role,
            body,
            {"status": row.status},
            actor=actor.name,
            internal=True,
        )
        return row
