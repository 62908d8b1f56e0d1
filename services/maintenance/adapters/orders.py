"""Order lines maintenance has handled (`handled_order_lines`): each once, whatever the
number of deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.runtime.db import Connection

LineRef = tuple[str, str]
"""(order_id, line_id)"""


async def claim(conn: Connection, lines: Sequence[LineRef], at: datetime) -> set[LineRef]:
    """Claim order lines in one statement; those not handled before."""
    if not lines:
        return set()
    rows = await conn.fetch(
        "insert into handled_order_lines (order_id, line_id, handled_at, outcome)"
        " select o, l, $3, 'pending' from unnest($1::text[], $2::text[]) as t(o, l)"
        " on conflict do nothing returning order_id, line_id",
        [order_id for order_id, _ in lines],
        [line_id for _, line_id in lines],
        at,
    )
    return {(r["order_id"], r["line_id"]) for r in rows}


async def record_outcomes(conn: Connection, outcomes: Sequence[tuple[LineRef, str]]) -> None:
    """What became of claimed lines, in one statement."""
    if not outcomes:
        return
    await conn.execute(
        "update handled_order_lines h set outcome = t.outcome"
        " from unnest($1::text[], $2::text[], $3::text[]) as t(order_id, line_id, outcome)"
        " where h.order_id = t.order_id and h.line_id = t.line_id",
        [ref[0] for ref, _ in outcomes],
        [ref[1] for ref, _ in outcomes],
        [outcome for _, outcome in outcomes],
    )
