"""SQL of the agents' queue: tickets by their nearest SLA deadline, filters and counts."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from services.runtime.db import Connection

from ..domain.queue import FACETS, OPEN_STATUSES, SLA_STATES, UNASSIGNED, QueueFilter
from ..domain.records import QueuedTicket
from .store import TICKET_COLUMNS, ticket_of

# $1 is always "now".
_STATE = (
    "case when t.next_due_at < $1 then 'breached'"
    " when t.at_risk_from <= $1 then 'at_risk'"
    " when t.next_due_at is not null then 'on_track'"
    " when t.status = 'pending' then 'paused'"
    " else 'none' end"
)


async def queue_page(
    conn: Connection, now: datetime, f: QueueFilter, limit: int, offset: int
) -> list[QueuedTicket]:
    """Tickets passing the filter, the nearest deadline first; paused and timer-less ones
    after them, oldest first."""
    args: list[Any] = [now, list(f.statuses)]
    where = ["t.status = any($2::text[])"]
    for column, value in (("tier", f.tier), ("product", f.product)):
        if value is not None:
            args.append(value)
            where.append(f"t.{column} = ${len(args)}")
    if f.assignee == UNASSIGNED:
        where.append("t.assignee is null")
    elif f.assignee is not None:
        args.append(f.assignee)
        where.append(f"t.assignee = ${len(args)}")
    if f.sla is not None:
        args.append(f.sla)
        where.append(f"{_STATE} = ${len(args)}")
    args += [limit, offset]
    columns = ", ".join("t." + c.strip() for c in TICKET_COLUMNS.split(","))
    rows = await conn.fetch(
        f"select {columns}, {_STATE} as sla_state from tickets t where {' and '.join(where)}"
        " order by t.next_due_at asc nulls last, t.opened_at, t.number"
        f" limit ${len(args) - 1} offset ${len(args)}",
        *args,
    )
    return [QueuedTicket(ticket_of(r), r["sla_state"]) for r in rows]


async def facet_counts(
    conn: Connection, now: datetime, f: QueueFilter
) -> dict[str, dict[str, int]]:
    """For each filter, how many tickets each of its values would show with the other
    filters as they are (what a faceted search shows beside each choice)."""
    rows = await conn.fetch(
        f"select t.tier, t.status, t.product, t.assignee, {_STATE} as sla, count(*) as n"
        " from tickets t where t.status <> 'closed' group by 1, 2, 3, 4, 5",
        now,
    )
    counts: dict[str, Counter[str]] = {name: Counter() for name in FACETS}
    for row in rows:
        facets = {name: row[name] for name in FACETS}
        for name in FACETS:
            if f.matches(facets, skip=name):
                value = facets[name] if name != "assignee" else facets[name] or UNASSIGNED
                counts[name][str(value)] += row["n"]
    for state in SLA_STATES:
        counts["sla"].setdefault(state, 0)
    for status in OPEN_STATUSES:
        counts["status"].setdefault(status, 0)
    return {name: dict(sorted(c.items())) for name, c in counts.items()}


def total_of(counts: dict[str, dict[str, int]], f: QueueFilter) -> int:
    """Tickets passing every filter, from the SLA facet's counts."""
    return sum(counts["sla"].get(state, 0) for state in ([f.sla] if f.sla else SLA_STATES))


async def open_by_tier_and_state(conn: Connection, now: datetime) -> dict[tuple[str, str], int]:
    rows = await conn.fetch(
        f"select t.tier, {_STATE} as sla, count(*) as n from tickets t"
        " where t.status <> 'closed' group by 1, 2",
        now,
    )
    return {(r["tier"], r["sla"]): r["n"] for r in rows}
