"""Ticket commands: open a ticket (tier and SLA fixed at creation), apply lifecycle commands,
and the schedulers (SLA breaches, auto-close). State, timeline and events commit together."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from entitle_events.ticketing import (
    SurveyAnswered,
    TicketClosed,
    TicketCustomerReplied,
    TicketOpened,
    TicketPending,
    TicketRejected,
    TicketReopened,
    TicketResponded,
    TicketSlaBreached,
    TicketSolved,
)

from services.catalog import Catalog
from services.runtime.context import Context
from services.runtime.service import Runtime

from ..adapters import store
from ..domain import lifecycle as lc
from ..domain.calendar import BusinessCalendar, default_calendar
from ..domain.sla import SlaTarget, SlaTargets, default_sla_policy, due_at
from ..domain.tiers import SupportPolicy, TierDecision, decide_support
from ..settings import TicketingSettings

Author = Literal["agent", "customer", "system"]


@dataclass
class Ticketing:
    """What the ticket commands need besides the database: policy, calendar, SLA targets."""

    settings: TicketingSettings
    catalog: Catalog | None = None
    calendar: BusinessCalendar = field(default_factory=default_calendar)
    policy: SupportPolicy = field(init=False)
    sla: dict[Any, SlaTargets] = field(init=False)

    def __post_init__(self) -> None:
        self.policy = self.settings.policy()
        self.sla = dict(default_sla_policy(self.calendar))

    def link(self, number: str) -> str:
        return f"{self.settings.portal_url.rstrip('/')}/tickets/{number}"


@dataclass(frozen=True)
class NewTicket:
    account_id: str
    email: str
    product: str
    version: str
    kind: Any
    subject: str
    body: str
    license_key: str | None = None


@dataclass(frozen=True)
class Opened:
    row: dict[str, Any]
    created: bool


@dataclass(frozen=True)
class Refused:
    decision: TierDecision
    request_id: str


# -- SLA --------------------------------------------------------------------------------


def sla_timers(
    cfg: Ticketing, row: dict[str, Any], ticket: lc.Ticket
) -> list[tuple[SlaTarget, datetime]]:
    """Running SLA timers of a ticket with their due times (paused timers have none)."""
    targets = cfg.sla.get(row["tier"])
    if targets is None or ticket.status in ("solved", "closed"):
        return []
    timers: list[tuple[SlaTarget, datetime]] = []
    first = targets.first_response
    if first is not None and ticket.first_response_at is None:
        due = due_at(cfg.calendar, ticket.opened_at, first, ticket.pauses)
        if due is not None:
            timers.append(("first_response", due))
    update = targets.update
    since = row.get("awaiting_agent_since")
    if update is not None and since is not None and ticket.status != "pending":
        due = due_at(cfg.calendar, since, update, ticket.pauses)
        if due is not None:
            timers.append(("update", due))
    return timers


def _derive(cfg: Ticketing, row: dict[str, Any], ticket: lc.Ticket, breached: set[str]) -> None:
    """Fill the columns the schedulers and filters read from the ticket state."""
    row["status"] = ticket.status
    row["updated_at"] = ticket.updated_at
    row["state"] = store.dump_ticket(ticket)
    dues = [due for target, due in sla_timers(cfg, row, ticket) if target not in breached]
    row["sla_check_at"] = min(dues, default=None)
    row["auto_close_at"] = ticket.auto_close_due_at()


def _ref(cfg: Ticketing, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "ticket_id": row["ticket_id"],
        "number": row["number"],
        "account_id": row["account_id"],
        "email": row["email"],
        "link": cfg.link(row["number"]),
    }


# -- opening ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    decision: TierDecision
    first_response_due: datetime | None


async def preview_ticket(
    runtime: Runtime, cfg: Ticketing, account_id: str, product: str, version: str, kind: Any
) -> Preview:
    """What opening this request now would give: its tier and first-response due time, or
    the refusal. Nothing is stored and no credit is used."""
    now = runtime.clock.now().astimezone(UTC)
    async with runtime.pool.acquire() as conn:
        facts = await store.entitlement_facts(
            conn,
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
    runtime: Runtime, cfg: Ticketing, req: NewTicket, key: str | None
) -> Opened | Refused:
    """Decide the tier, fix tier and SLA, consume a credit; the same key: the same ticket."""
    async with runtime.transaction() as ctx:
        conn = ctx.conn
        # One opening per account at a time: credits and idempotency keys stay exact.
        await conn.execute(
            "select pg_advisory_xact_lock(hashtext('tickets:' || $1))", req.account_id
        )
        if key is not None:
            existing = await store.ticket_by_key(conn, req.account_id, key)
            if existing is not None:
                return Opened(existing, created=False)
        now = ctx.now().astimezone(UTC)
        facts = await store.entitlement_facts(
            conn,
            req.account_id,
            req.product,
            req.version,
            now,
            catalog=cfg.catalog,
            setup_products=frozenset(cfg.settings.setup_assistance_products),
        )
        decision = decide_support(facts, cfg.policy, req.kind, now)
        if not decision.accepted:
            request_id = key or str(uuid.uuid4())
            fresh = True
            if key is not None:
                fresh = bool(
                    await conn.fetchval(
                        "insert into rejected_requests (account_id, idempotency_key, code,"
                        " rejected_at) values ($1, $2, $3, $4) on conflict do nothing"
                        " returning true",
                        req.account_id,
                        key,
                        decision.code,
                        now,
                    )
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
            return Refused(decision, request_id)
        seq = await conn.fetchval("select nextval('ticket_number_seq')")
        number = f"T-{now.year}-{seq:06d}"
        ticket_id = str(uuid.uuid4())
        ticket, _ = lc.open_ticket(ticket_id, now)
        targets = cfg.sla.get(decision.tier)
        first_due = None
        if targets is not None and targets.first_response is not None:
            first_due = due_at(cfg.calendar, now, targets.first_response)
        row: dict[str, Any] = {
            "ticket_id": ticket_id,
            "number": number,
            "account_id": req.account_id,
            "email": req.email,
            "license_key": req.license_key,
            "product": req.product,
            "version": req.version,
            "kind": req.kind,
            "subject": req.subject,
            "body": req.body,
            "tier": decision.tier,
            "opened_at": now,
            "first_response_due": first_due,
            "awaiting_agent_since": None,
        }
        _derive(cfg, row, ticket, set())
        await store.insert_ticket(conn, row, key)
        if decision.consumes_credit:
            await conn.execute(
                "insert into credit_uses (ticket_id, account_id, used_at) values ($1, $2, $3)",
                ticket_id,
                req.account_id,
                now,
            )
        await store.add_timeline(
            conn,
            ticket_id,
            now,
            "opened",
            "customer",
            req.body,
            {"tier": decision.tier, "credit_used": decision.consumes_credit},
        )
        ctx.emit(
            TicketOpened(
                **_ref(cfg, row),
                subject=req.subject,
                product=req.product,
                version=req.version,
                kind=req.kind,
                tier=decision.tier,
                license_key=req.license_key,
                opened_at=now,
                first_response_due=first_due,
            ),
            subject=ticket_id,
            correlationid=ticket_id,
        )
        return Opened(row, created=True)


# -- lifecycle --------------------------------------------------------------------------


class TicketNotFound(Exception):
    pass


async def _emit(
    ctx: Context,
    cfg: Ticketing,
    row: dict[str, Any],
    events: list[lc.Event],
    author: Author,
) -> None:
    ref = _ref(cfg, row)
    tid = row["ticket_id"]
    conn = ctx.conn
    for e in events:
        match e:
            case lc.Responded():
                ctx.emit(TicketResponded(**ref, body=e.body, responded_at=e.at), subject=tid)
                await store.add_timeline(
                    conn, tid, e.at, "responded", author, e.body, {"first": e.first_response}
                )
            case lc.Pending():
                ctx.emit(
                    TicketPending(
                        **ref, body=e.body, contact_attempt=e.contact_attempt, pending_at=e.at
                    ),
                    subject=tid,
                )
                await store.add_timeline(
                    conn, tid, e.at, "pending", author, e.body, {"attempt": e.contact_attempt}
                )
            case lc.CustomerReplied():
                ctx.emit(TicketCustomerReplied(**ref, body=e.body, replied_at=e.at), subject=tid)
                await store.add_timeline(conn, tid, e.at, "customer_replied", author, e.body)
            case lc.Solved():
                ctx.emit(TicketSolved(**ref, solved_at=e.at), subject=tid)
                await store.add_timeline(conn, tid, e.at, "solved", author)
            case lc.Closed():
                ctx.emit(
                    TicketClosed(
                        **ref,
                        closed_at=e.at,
                        reason=e.reason,
                        survey_link=ref["link"] + "/survey",
                    ),
                    subject=tid,
                )
                await store.add_timeline(
                    conn, tid, e.at, "closed", author, None, {"reason": e.reason}
                )
            case lc.Reopened():
                ctx.emit(TicketReopened(**ref, reopened_at=e.at), subject=tid)
                await store.add_timeline(conn, tid, e.at, "reopened", author)
            case lc.SurveyAnswered():
                ctx.emit(
                    SurveyAnswered(**ref, rating=e.rating, comment=e.comment, answered_at=e.at),
                    subject=tid,
                )
                await store.add_timeline(
                    conn, tid, e.at, "survey_answered", author, e.comment, {"rating": e.rating}
                )
            case lc.Opened():
                pass


def _awaiting_since(
    current: datetime | None, ticket: lc.Ticket, events: list[lc.Event]
) -> datetime | None:
    """Start of the update timer: a customer reply or a reopen waiting on an agent."""
    for e in events:
        match e:
            case lc.Responded() | lc.Pending() | lc.Solved() | lc.Closed():
                current = None
            case lc.Reopened():
                current = e.at
            case lc.CustomerReplied():
                if ticket.first_response_at is not None and current is None:
                    current = e.at
            case _:
                pass
    return current


async def apply_to_row(
    ctx: Context, cfg: Ticketing, row: dict[str, Any], command: lc.Command, author: Author
) -> dict[str, Any]:
    """Apply a command to a locked ticket row; persist, record and emit. TransitionError
    propagates with nothing written."""
    ticket = store.load_ticket(row["state"])
    ticket, events = lc.apply(ticket, command, ctx.now())
    row["awaiting_agent_since"] = _awaiting_since(row["awaiting_agent_since"], ticket, events)
    _derive(cfg, row, ticket, await store.breached_targets(ctx.conn, row["ticket_id"]))
    await store.update_ticket(ctx.conn, row)
    await _emit(ctx, cfg, row, events, author)
    return row


async def run_command(
    runtime: Runtime,
    cfg: Ticketing,
    number: str,
    command: lc.Command,
    author: Author,
    visible_to: str | None,
) -> dict[str, Any]:
    async with runtime.transaction() as ctx:
        row = await store.ticket_by_number(ctx.conn, number, lock=True)
        if row is None or (visible_to is not None and row["account_id"] != visible_to):
            raise TicketNotFound(number)
        return await apply_to_row(ctx, cfg, row, command, author)


# -- schedulers -------------------------------------------------------------------------


async def detect_breaches(runtime: Runtime, cfg: Ticketing, batch: int = 100) -> int:
    """Emit TicketSlaBreached once per ticket and target whose due time has passed."""
    async with runtime.transaction() as ctx:
        now = ctx.now()
        rows = await ctx.conn.fetch(
            f"select {store.TICKET_COLUMNS} from tickets where sla_check_at < $1"
            " order by sla_check_at limit $2 for update skip locked",
            now,
            batch,
        )
        for record in rows:
            row = dict(record)
            ticket = store.load_ticket(row["state"])
            breached = await store.breached_targets(ctx.conn, row["ticket_id"])
            for target, due in sla_timers(cfg, row, ticket):
                if target in breached or not now > due:
                    continue
                inserted = await ctx.conn.fetchval(
                    "insert into sla_breaches (ticket_id, target, due_at, detected_at)"
                    " values ($1, $2, $3, $4) on conflict do nothing returning true",
                    row["ticket_id"],
                    target,
                    due,
                    now,
                )
                breached.add(target)
                if inserted:
                    ctx.emit(
                        TicketSlaBreached(
                            **_ref(cfg, row), target=target, due_at=due, tier=row["tier"]
                        ),
                        subject=row["ticket_id"],
                    )
                    await store.add_timeline(
                        ctx.conn,
                        row["ticket_id"],
                        now,
                        "sla_breached",
                        "system",
                        None,
                        {"target": target, "due_at": due.isoformat()},
                    )
            _derive(cfg, row, ticket, breached)
            await store.update_ticket(ctx.conn, row)
        return len(rows)


async def auto_close_due(runtime: Runtime, cfg: Ticketing, batch: int = 100) -> int:
    """Close pending tickets after the contact attempts went unanswered (DESIGN §4.4)."""
    async with runtime.transaction() as ctx:
        rows = await ctx.conn.fetch(
            f"select {store.TICKET_COLUMNS} from tickets where auto_close_at <= $1"
            " order by auto_close_at limit $2 for update skip locked",
            ctx.now(),
            batch,
        )
        closed = 0
        for record in rows:
            row = dict(record)
            try:
                await apply_to_row(ctx, cfg, row, lc.AutoClose(), "system")
                closed += 1
            except lc.TransitionError:
                # The state no longer allows it: recompute so it is not claimed again.
                ticket = store.load_ticket(row["state"])
                _derive(cfg, row, ticket, await store.breached_targets(ctx.conn, row["ticket_id"]))
                await store.update_ticket(ctx.conn, row)
        return closed
