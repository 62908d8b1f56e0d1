"""Keep maintenance's coverage as a local projection: validation answers version questions
without calling maintenance."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
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
from ..domain.records import CoverageCut, CoverageRecorded, CoverageTakenBack

COVERAGE_EVENTS = (CoverageStarted, CoverageExtended, CoverageEnded, CoverageWithdrawn)

Change = CoverageRecorded | CoverageCut | CoverageTakenBack


async def on_coverage_events(ctx: Context, events: Sequence[Event[Any]]) -> None:
    """Apply coverage events with a few statements per kind of change, not per event.

    Changes to different licenses commute, and so do recordings (or withdrawals) of one
    license; a cut and anything else to the same license do not (a period recorded after a
    cut stays). So the events are applied in waves: a license's change joins the wave of its
    previous one when both are recordings or both withdrawals, else the next wave.
    """
    waves: list[dict[str, list[Change]]] = []
    latest: dict[str, tuple[int, type[Change]]] = {}  # license -> its latest wave and kind
    for event in events:
        change = _change(event.data)
        seen = latest.get(change.license_id)
        if seen is None:
            wave = 0
        elif seen[1] is type(change) and not isinstance(change, CoverageCut):
            wave = seen[0]
        else:
            wave = seen[0] + 1
        latest[change.license_id] = (wave, type(change))
        if wave == len(waves):
            waves.append({})
        waves[wave].setdefault(change.license_id, []).append(change)
    for wave_changes in waves:
        await _apply_wave(ctx, list(wave_changes.values()))


def _change(data: Any) -> Change:
    if isinstance(data, CoverageStarted):
        periods = tuple((p.starts_at, p.ends_at) for p in data.periods)
        return CoverageRecorded(data.license_id, periods, data.ends_at is None)
    if isinstance(data, CoverageExtended):
        period = ((data.period.starts_at, data.period.ends_at),)
        return CoverageRecorded(data.license_id, period, data.ends_at is None)
    if isinstance(data, CoverageEnded):
        return CoverageCut(data.license_id, data.ended_at)
    assert isinstance(data, CoverageWithdrawn)
    return CoverageTakenBack(data.license_id, tuple((p.starts_at, p.ends_at) for p in data.periods))


async def _apply_wave(ctx: Context, by_license: list[list[Change]]) -> None:
    """Each license's changes in a wave: one cut, or recordings, or withdrawals, in order."""
    recorded: list[CoverageRecorded] = []
    cuts: list[CoverageCut] = []
    taken_back: list[CoverageTakenBack] = []
    for changes in by_license:
        latest = changes[-1]
        periods = tuple(dict.fromkeys(p for c in changes for p in _periods(c)))
        if isinstance(latest, CoverageRecorded):
            recorded.append(CoverageRecorded(latest.license_id, periods, latest.perpetual))
        elif isinstance(latest, CoverageTakenBack):
            taken_back.append(CoverageTakenBack(latest.license_id, periods))
        else:
            cuts.append(latest)
    await licenses.record_coverage(ctx.conn, recorded, ctx.now())
    await licenses.end_coverage(ctx.conn, cuts)
    await licenses.withdraw_coverage(ctx.conn, taken_back)


def _periods(change: Change) -> tuple[tuple[datetime, datetime], ...]:
    return () if isinstance(change, CoverageCut) else change.periods
