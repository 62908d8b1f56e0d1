"""What every ticket handler shares: the configuration, a ticket row's state and SLA clock,
the columns derived from them, and recording SLA warnings and breaches."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from entitle_events.ticketing import TicketSlaBreached, TicketSlaWarning

from services.policy.catalog import Catalog
from services.runtime.context import Context

from .. import metrics
from ..adapters import store
from ..domain import cycles
from ..domain import lifecycle as lc
from ..domain.calendar import BusinessCalendar, default_calendar
from ..domain.policy import calendar_of, sla_policy_of
from ..domain.records import TicketRow
from ..domain.sla import SlaTargets, default_sla_policy
from ..domain.tiers import SupportPolicy
from ..settings import TicketingSettings

Author = Literal["agent", "customer", "system"]
SYSTEM = "system"


@dataclass
class Ticketing:
    """What the ticket commands need besides the database: policy, calendar, SLA targets
    (the catalog's `[support]` section, or the defaults without a catalog)."""

    settings: TicketingSettings
    catalog: Catalog | None = None
    calendar: BusinessCalendar = field(default_factory=default_calendar)
    policy: SupportPolicy = field(init=False)
    sla: dict[str, SlaTargets] = field(init=False)

    def __post_init__(self) -> None:
        self.policy = self.settings.policy()
        if self.catalog is not None:
            self.calendar = calendar_of(self.catalog.support.hours)
            self.sla = sla_policy_of(self.catalog.support, self.calendar)
        else:
            self.sla = {tier: t for tier, t in default_sla_policy(self.calendar).items()}

    def link(self, number: str) -> str:
        return f"{self.settings.portal_url.rstrip('/')}/tickets/{number}"

    def desk_link(self, number: str) -> str:
        """The ticket in the support desk, the portal's `/desk` area."""
        return f"{self.settings.portal_url.rstrip('/')}/desk/tickets/{number}"


@dataclass(frozen=True)
class Actor:
    """Who acts: their role on the ticket and the name recorded for them."""

    role: Author
    name: str


SYSTEM_ACTOR = Actor("system", SYSTEM)


@dataclass
class Tally:
    """SLA metric increments, applied once the transaction that recorded them commits."""

    warnings: list[tuple[str, str]] = field(default_factory=list)
    breaches: list[tuple[str, str]] = field(default_factory=list)
    cycles: list[tuple[str, str, str]] = field(default_factory=list)

    def flush(self) -> None:
        for labels in self.warnings:
            metrics.SLA_WARNINGS.labels(*labels).inc()
        for labels in self.breaches:
            metrics.SLA_BREACHES.labels(*labels).inc()
        for cycle_labels in self.cycles:
            metrics.SLA_CYCLES.labels(*cycle_labels).inc()
        self.warnings.clear()
        self.breaches.clear()
        self.cycles.clear()


def ref(cfg: Ticketing, row: TicketRow, actor: str | None = None) -> dict[str, Any]:
    """The fields every ticket event starts with (keyword arguments of its data class)."""
    return {
        "ticket_id": row.ticket_id,
        "number": row.number,
        "account_id": row.account_id,
        "email": row.email,
        "link": cfg.link(row.number),
        "actor": actor,
    }


def load(cfg: Ticketing, row: TicketRow, breached: set[str]) -> tuple[lc.Ticket, cycles.SlaClock]:
    """The ticket's lifecycle state and SLA clock (rebuilt for a ticket stored before cycles
    were recorded, from its recorded breaches)."""
    if row.clock is not None:
        return row.state, row.clock
    targets = cfg.sla.get(row.tier)
    return row.state, cycles.resume(row.state, targets, row.awaiting_agent_since, breached)


async def load_row(
    ctx: Context, cfg: Ticketing, row: TicketRow
) -> tuple[lc.Ticket, cycles.SlaClock]:
    breached = set() if row.clock else await store.breached_targets(ctx.conn, row.ticket_id)
    return load(cfg, row, breached)


def derive(
    cfg: Ticketing,
    row: TicketRow,
    ticket: lc.Ticket,
    clock: cycles.SlaClock,
    now: datetime,
) -> TicketRow:
    """The row with this state and clock, and the columns the schedulers, the queue and the
    filters read derived from them."""
    pauses = ticket.pauses
    deadline = cycles.nearest_deadline(clock, cfg.calendar, pauses, now)
    return replace(
        row,
        status=ticket.status,
        updated_at=ticket.updated_at,
        state=ticket,
        clock=clock,
        awaiting_agent_since=clock.awaiting_since,
        sla_check_at=cycles.next_checks(clock, cfg.calendar, pauses, now),
        next_due_at=deadline.due if deadline else None,
        next_target=deadline.target if deadline else None,
        at_risk_from=cycles.at_risk_from(clock, cfg.calendar, pauses),
        auto_close_at=ticket.auto_close_due_at(),
    )


def _sla_ref(cfg: Ticketing, row: TicketRow, cycle: cycles.Cycle, due: datetime) -> dict[str, Any]:
    """The fields SLA warnings and breaches share."""
    return {
        **ref(cfg, row, SYSTEM),
        "target": cycle.target,
        "cycle": cycle.number,
        "due_at": due,
        "tier": row.tier,
        "assignee": row.assignee,
        "desk_link": cfg.desk_link(row.number),
    }


async def _first_sla_event(
    ctx: Context,
    row: TicketRow,
    kind: Literal["warning", "breach"],
    cycle: cycles.Cycle,
    due: datetime,
    **detail: Any,
) -> bool:
    """Record the warning or breach of a target's cycle with its internal timeline entry;
    False when that cycle already had one (nothing is written then)."""
    now = ctx.now()
    tid = row.ticket_id
    if not await store.record_sla_event(
        ctx.conn, tid, cycle.target, cycle.number, kind, due, now, row.tier
    ):
        return False
    entry = {"target": cycle.target, "cycle": cycle.number, "due_at": due.isoformat(), **detail}
    entry_type = "sla_warning" if kind == "warning" else "sla_breached"
    await store.add_timeline(
        ctx.conn, tid, now, entry_type, "system", None, entry, actor=SYSTEM, internal=True
    )
    return True


async def record_breach(
    ctx: Context,
    cfg: Ticketing,
    row: TicketRow,
    cycle: cycles.Cycle,
    due: datetime,
    tally: Tally,
) -> None:
    """One `ticket.sla-breached` per target and cycle."""
    if not await _first_sla_event(ctx, row, "breach", cycle, due):
        return
    ctx.emit(TicketSlaBreached(**_sla_ref(cfg, row, cycle, due)), subject=row.ticket_id)
    tally.breaches.append((row.tier, cycle.target))


async def record_warning(
    ctx: Context,
    cfg: Ticketing,
    row: TicketRow,
    warning: cycles.Warn,
    tally: Tally,
) -> None:
    """One `ticket.sla-warning` per target and cycle (the caller checked business hours)."""
    cycle = warning.cycle
    left = max(warning.left // timedelta(minutes=1), 0)
    if not await _first_sla_event(
        ctx, row, "warning", cycle, warning.due, business_minutes_left=left
    ):
        return
    ctx.emit(
        TicketSlaWarning(
            **_sla_ref(cfg, row, cycle, warning.due),
            warned_at=ctx.now(),
            business_minutes_left=left,
            subject=row.subject,
        ),
        subject=row.ticket_id,
    )
    tally.warnings.append((row.tier, cycle.target))


async def finish_cycles(
    ctx: Context,
    cfg: Ticketing,
    row: TicketRow,
    ended: list[cycles.Ended],
    tally: Tally,
) -> None:
    """Count the cycles a command ended; one that ended overdue unseen is breached now."""
    for done in ended:
        if done.breach_now and done.due is not None:
            await record_breach(ctx, cfg, row, done.cycle, done.due, tally)
        tally.cycles.append((row.tier, done.cycle.target, done.outcome))
