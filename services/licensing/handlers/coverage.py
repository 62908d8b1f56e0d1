"""Keep maintenance's coverage as a local projection: validation answers version questions
without calling maintenance."""

from __future__ import annotations

from typing import Any

from entitle_events import Event
from entitle_events.maintenance import (
    CoverageEnded,
    CoverageExtended,
    CoverageStarted,
    CoverageWithdrawn,
)

from services.runtime.context import Context

from ..adapters import licenses

COVERAGE_EVENTS = (CoverageStarted, CoverageExtended, CoverageEnded, CoverageWithdrawn)


async def on_coverage_event(ctx: Context, event: Event[Any]) -> None:
    data = event.data
    if isinstance(data, CoverageStarted):
        periods = [(p.starts_at, p.ends_at) for p in data.periods]
        await licenses.record_coverage(
            ctx.conn, data.license_id, periods, data.ends_at is None, ctx.now()
        )
    elif isinstance(data, CoverageExtended):
        await licenses.record_coverage(
            ctx.conn,
            data.license_id,
            [(data.period.starts_at, data.period.ends_at)],
            data.ends_at is None,
            ctx.now(),
        )
    elif isinstance(data, CoverageEnded):
        await licenses.end_coverage(ctx.conn, data.license_id, data.ended_at)
    elif isinstance(data, CoverageWithdrawn):
        await licenses.withdraw_coverage(
            ctx.conn, data.license_id, [(p.starts_at, p.ends_at) for p in data.periods]
        )
