"""The ticket schedulers: SLA warnings and breaches (once per target and cycle), auto-close,
and the gauge of open tickets by SLA state."""

from __future__ import annotations

from services.runtime.context import Transactions

from .. import metrics
from ..adapters import queue, store
from ..domain import cycles
from ..domain import lifecycle as lc
from .common import SYSTEM_ACTOR, Tally, Ticketing, derive, load_row, record_breach, record_warning
from .tickets import apply_to_row


async def check_sla(db: Transactions, cfg: Ticketing, batch: int = 100) -> int:
    """Warn about targets inside their lead (only inside business hours) and breach overdue
    ones; returns the tickets looked at."""
    tally = Tally()
    async with db.transaction() as ctx:
        now = ctx.now()
        rows = await store.claim_due(ctx.conn, "sla_check_at", now, batch, strict=True)
        for row in rows:
            ticket, clock = await load_row(ctx, cfg, row)
            clock, actions = cycles.check(clock, cfg.calendar, ticket.pauses, now)
            for action in actions:
                if isinstance(action, cycles.Warn):
                    await record_warning(ctx, cfg, row, action, tally)
                else:
                    await record_breach(ctx, cfg, row, action.cycle, action.due, tally)
            await store.update_ticket(ctx.conn, derive(cfg, row, ticket, clock, now))
    tally.flush()
    return len(rows)


async def auto_close_due(db: Transactions, cfg: Ticketing, batch: int = 100) -> int:
    """Close pending tickets after the contact attempts went unanswered."""
    tally = Tally()
    async with db.transaction() as ctx:
        rows = await store.claim_due(ctx.conn, "auto_close_at", ctx.now(), batch)
        closed = 0
        for row in rows:
            try:
                await apply_to_row(ctx, cfg, row, lc.AutoClose(), SYSTEM_ACTOR, tally)
                closed += 1
            except lc.TransitionError:
                # The state no longer allows it: recompute so it is not claimed again.
                ticket, clock = await load_row(ctx, cfg, row)
                await store.update_ticket(ctx.conn, derive(cfg, row, ticket, clock, ctx.now()))
    tally.flush()
    return closed


async def refresh_open_gauge(db: Transactions) -> int:
    """Set `entitle_tickets_open` from the database; returns 0 (a gauge is never work)."""
    async with db.transaction() as ctx:
        counts = await queue.open_by_tier_and_state(ctx.conn, ctx.now())
    metrics.OPEN_TICKETS.clear()
    for (tier, state), count in counts.items():
        metrics.OPEN_TICKETS.labels(tier, state).set(count)
    return 0
