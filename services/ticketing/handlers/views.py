"""What the support desk reads: the queue by nearest SLA deadline, a ticket's SLA status,
and the entitlement panel beside a ticket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.runtime.context import Transactions

from ..adapters import panel, queue, store
from ..domain import cycles
from ..domain.lifecycle import AUTO_CLOSE_ATTEMPTS, AUTO_CLOSE_WINDOW
from ..domain.queue import QueueFilter, TicketFilter
from ..domain.records import (
    LicenseWithCoverage,
    ListedTicket,
    QueuedTicket,
    TicketRow,
    TimelineEntry,
)
from ..domain.views import (
    CoverageStatus,
    Deadline,
    EntitlementPanel,
    PanelCoverage,
    PanelCredits,
    PanelKey,
    PanelLicense,
    PanelPlan,
    PanelTier,
    PanelVersion,
    Queue,
    QueueItem,
    RunningCycle,
    SlaView,
)
from .common import Ticketing, load
from .tickets import not_found

_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class TicketWithHistory:
    ticket: TicketRow
    breached: bool
    timeline: list[TimelineEntry]


async def tickets_page(
    db: Transactions, f: TicketFilter, limit: int, offset: int
) -> list[ListedTicket]:
    """Tickets passing the filter, the newest first."""
    async with db.transaction() as ctx:
        return await store.list_tickets(ctx.conn, f, limit, offset)


async def ticket_with_history(
    db: Transactions, number: str, *, visible_to: str | None, internal: bool
) -> TicketWithHistory:
    """A ticket (`visible_to`: only if it is of that account) and its timeline (`internal`:
    with the agents' entries)."""
    async with db.transaction() as ctx:
        row = await store.ticket_by_number(ctx.conn, number)
        if row is None or (visible_to is not None and row.account_id != visible_to):
            raise not_found(number)
        breached = bool(await store.breached_targets(ctx.conn, row.ticket_id))
        entries = await store.timeline(ctx.conn, row.ticket_id, internal=internal)
    return TicketWithHistory(row, breached, entries)


def sla_view(cfg: Ticketing, row: TicketRow, now: datetime) -> SlaView:
    """The ticket's running SLA cycles and its nearest deadline, at `now`."""
    ticket, clock = load(cfg, row, set())
    pauses = ticket.pauses
    running = []
    for cycle in clock.running:
        due = cycles.cycle_due(cfg.calendar, cycle, pauses)
        running.append(
            RunningCycle(
                target=cycle.target,
                cycle=cycle.number,
                started_at=cycle.started,
                due_at=due,
                warn_at=cycles.warn_at(cfg.calendar, cycle, pauses),
                business_minutes_left=cycles.time_left(cfg.calendar, cycle, pauses, now) // _MINUTE,
                paused=due is None,
                breached=cycle.breached or (due is not None and now > due),
            )
        )
    deadline = cycles.nearest_deadline(clock, cfg.calendar, pauses, now)
    # With fewer attempts made, the date the ticket closes once the last one is made.
    projected_close = (
        ticket.first_attempt_at + AUTO_CLOSE_WINDOW if ticket.first_attempt_at else None
    )
    return SlaView(
        running=running,
        next_deadline=None
        if deadline is None
        else Deadline(
            target=deadline.target,
            cycle=deadline.cycle,
            due_at=deadline.due,
            business_minutes_left=deadline.left // _MINUTE,
            at_risk_from=deadline.at_risk_from,
        ),
        contact_attempts=ticket.contact_attempts,
        auto_close_attempts=AUTO_CLOSE_ATTEMPTS,
        closes_without_reply_at=projected_close if ticket.status == "pending" else None,
    )


def queue_item(cfg: Ticketing, queued: QueuedTicket, now: datetime) -> QueueItem:
    row = queued.ticket
    view = sla_view(cfg, row, now)
    return QueueItem(
        number=row.number,
        ticket_id=row.ticket_id,
        account_id=row.account_id,
        email=row.email,
        subject=row.subject,
        product=row.product,
        version=row.version,
        kind=row.kind,
        tier=row.tier,
        status=row.status,
        assignee=row.assignee,
        opened_at=row.opened_at,
        updated_at=row.updated_at,
        sla_state=queued.sla_state,
        next_deadline=view.next_deadline,
        contact_attempts=view.contact_attempts,
        auto_close_attempts=AUTO_CLOSE_ATTEMPTS,
        closes_without_reply_at=view.closes_without_reply_at,
    )


async def queue_view(
    db: Transactions, cfg: Ticketing, f: QueueFilter, limit: int, offset: int
) -> Queue:
    async with db.transaction() as ctx:
        now = ctx.now()
        rows = await queue.queue_page(ctx.conn, now, f, limit + 1, offset)
        counts = await queue.facet_counts(ctx.conn, now, f)
    more = len(rows) > limit
    return Queue(
        items=[queue_item(cfg, r, now) for r in rows[:limit]],
        counts=counts,
        total=queue.total_of(counts, f),
        next_offset=offset + limit if more else None,
        as_of=now,
    )


def _coverage_status(found: LicenseWithCoverage, now: datetime) -> CoverageStatus:
    cover = found.coverage
    if cover is None:
        return "none"
    if found.license.status != "active":
        return "ended"
    if cover.covered and cover.perpetual:
        return "perpetual"
    if cover.covered and cover.ends_at is not None and cover.ends_at > now:
        return "active"
    return "lapsed"


def _plan_name(cfg: Ticketing, code: str | None) -> str | None:
    plan = cfg.catalog.plan(code) if code and cfg.catalog else None
    return plan.name if plan else code


def _panel_license(
    cfg: Ticketing, found: LicenseWithCoverage, row: TicketRow, now: datetime
) -> PanelLicense:
    lic, cover = found.license, found.coverage
    plan = cover.plan if cover else None
    return PanelLicense(
        license_id=lic.license_id,
        license_key=lic.license_key,
        kind=lic.kind,
        edition=lic.edition,
        status=lic.status,
        purchased_at=lic.purchased_at,
        expires_at=lic.expires_at,
        major_version=lic.major_version,
        coverage=PanelCoverage(
            status=_coverage_status(found, now),
            ends_at=cover.ends_at if cover else None,
            plan=plan,
            plan_name=_plan_name(cfg, plan),
        ),
        named_on_ticket=lic.license_id == row.license_id,
    )


async def entitlement_panel(db: Transactions, cfg: Ticketing, number: str) -> EntitlementPanel:
    """Everything the agent needs beside the ticket to know what the customer is owed."""
    async with db.transaction() as ctx:
        conn, now = ctx.conn, ctx.now()
        row = await store.ticket_by_number(conn, number)
        if row is None:
            raise not_found(number)
        account, product = row.account_id, row.product
        licenses = await panel.licenses(conn, account, product)
        plans = await panel.support_plans(conn, account, product)
        credits = await panel.credits(conn, account)
        support = await store.version_support(conn, product, row.version, now, cfg.catalog)
        partner_since = await panel.partner_since(conn, account)
    return EntitlementPanel(
        account_id=account,
        product=product,
        tier=PanelTier(
            current=row.tier,
            at_open=row.tier_at_open,
            reason=row.tier_reason,
            credit_used=row.credit_used,
        ),
        license_key=None
        if row.license_key is None
        else PanelKey(key=row.license_key, status=row.license_key_status),
        licenses=[_panel_license(cfg, found, row, now) for found in licenses],
        support_plans=[
            PanelPlan(
                order_id=p.order_id,
                line_id=p.line_id,
                starts_at=p.starts_at,
                ends_at=p.ends_at,
                active=p.active(now),
            )
            for p in plans
        ],
        incident_credits=PanelCredits(
            granted=credits.granted, used=credits.used, left=credits.left
        ),
        partner_since=partner_since,
        version=PanelVersion(
            version=row.version,
            supported=support.supported,
            supported_until=support.until,
            releases_known=support.known,
        ),
        as_of=now,
    )
