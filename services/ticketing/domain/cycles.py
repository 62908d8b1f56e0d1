"""SLA cycles: each target of a ticket runs in numbered cycles; one warning and one breach
at most per target and cycle.

* **first_response** runs from the opening (cycle 1), or from a reopen while no agent has
  answered yet, to the first agent message.
* **update** runs from a customer reply that follows an agent message (or from a reopen)
  to the next agent message: every such reply re-arms it as a new cycle. Further replies
  while it runs do not restart it (the customer's wait began with the first of them).
* **resolution** runs from the opening (or a reopen) to solved.

Every timer pauses while the ticket waits on the customer (the lifecycle's pauses).

A cycle's *promise* is one or more legs ``(since, minutes)``; its due time is the earliest
leg's due time. The tier's target gives the first leg. When the tier changes while a cycle
runs (a renewal, a lapse), the new tier's target is added as a leg counted from that moment:
an upgrade can bring the due time forward, a downgrade never moves it back, and no cycle is
breached by the change itself (its new leg starts with the whole target).

Warnings: a leg warns ``lead`` business minutes before its due time (`sla.WarningRule`),
and only at an instant inside business hours: the warning instant is the first business
instant at which at most `lead` is left. A check that finds a warning due outside business
hours (the scheduler was late) waits for the next opening; one that finds the cycle already
overdue sends the breach instead, and the warning is never sent for that cycle.
A breach is the due time passing (strictly after it). A cycle that ends overdue before a
check saw it is breached at its end, so no breach is ever lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from . import lifecycle as lc
from .calendar import BusinessCalendar
from .sla import Pause, SlaTarget, SlaTargets, due_at, elapsed

Outcome = Literal["met", "breached"]
_TARGETS: tuple[SlaTarget, ...] = ("first_response", "update", "resolution")


@dataclass(frozen=True)
class Leg:
    """One promise of a cycle: `minutes` of business time counted from `since` (UTC)."""

    since: datetime
    minutes: int
    lead: int


@dataclass(frozen=True)
class Cycle:
    target: SlaTarget
    number: int
    started: datetime
    legs: tuple[Leg, ...]
    warned: bool = False
    """The warning was sent, or will never be (the cycle went overdue first)."""
    breached: bool = False


@dataclass(frozen=True)
class Ended:
    """A cycle that ended at `at`; `breach_now`: it was overdue and no breach was recorded."""

    cycle: Cycle
    at: datetime
    outcome: Outcome
    due: datetime | None
    breach_now: bool


@dataclass(frozen=True)
class Warn:
    cycle: Cycle
    due: datetime
    left: timedelta


@dataclass(frozen=True)
class Breach:
    cycle: Cycle
    due: datetime


@dataclass(frozen=True)
class SlaClock:
    """The running cycles of a ticket, the last cycle number of each target, and since when
    the customer waits for an agent's next message (None: not waiting on an agent)."""

    running: tuple[Cycle, ...] = ()
    numbers: dict[str, int] = field(default_factory=dict)
    awaiting_since: datetime | None = None

    def cycle(self, target: SlaTarget) -> Cycle | None:
        return next((c for c in self.running if c.target == target), None)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# -- times of a cycle -------------------------------------------------------------------


def leg_due(calendar: BusinessCalendar, leg: Leg, pauses: Sequence[Pause]) -> datetime | None:
    due = due_at(calendar, leg.since, leg.minutes, pauses)
    return None if due is None else _utc(due)


def cycle_due(calendar: BusinessCalendar, cycle: Cycle, pauses: Sequence[Pause]) -> datetime | None:
    """The earliest due time of the cycle's legs; None while paused with time left."""
    dues = [d for leg in cycle.legs if (d := leg_due(calendar, leg, pauses)) is not None]
    return min(dues, default=None)


def warn_at(calendar: BusinessCalendar, cycle: Cycle, pauses: Sequence[Pause]) -> datetime | None:
    """First instant inside business hours with at most a leg's lead left on that leg."""
    instants = []
    for leg in cycle.legs:
        if leg.lead <= 0:
            continue
        raw = due_at(calendar, leg.since, max(leg.minutes - leg.lead, 0), pauses)
        if raw is not None:
            instants.append(_utc(calendar.next_opening(_utc(raw))))
    return min(instants, default=None)


def time_left(
    calendar: BusinessCalendar, cycle: Cycle, pauses: Sequence[Pause], now: datetime
) -> timedelta:
    """Business time left before the due time; negative: business time overdue."""
    return min(
        timedelta(minutes=leg.minutes) - elapsed(calendar, leg.since, pauses, now)
        for leg in cycle.legs
    )


def next_check(
    calendar: BusinessCalendar, cycle: Cycle, pauses: Sequence[Pause], now: datetime
) -> datetime | None:
    """When the scheduler must look at this cycle again (a breach is claimed once the due
    time lies strictly in the past); None: nothing can happen until the ticket changes."""
    if cycle.breached:
        return None
    due = cycle_due(calendar, cycle, pauses)
    if due is None:
        return None
    candidates = [due]
    if not cycle.warned:
        warn = warn_at(calendar, cycle, pauses)
        if warn is not None:
            if warn <= now and not calendar.is_open(now):
                warn = _utc(calendar.next_opening(now))
            candidates.append(warn)
    return min(candidates)


# -- starting and ending cycles ---------------------------------------------------------


def _start(
    clock: SlaClock, target: SlaTarget, at: datetime, targets: SlaTargets | None
) -> SlaClock:
    minutes = targets.minutes(target) if targets is not None else None
    if minutes is None or clock.cycle(target) is not None:
        return clock
    assert targets is not None
    number = clock.numbers.get(target, 0) + 1
    cycle = Cycle(target, number, at, (Leg(at, minutes, targets.warning.lead(minutes)),))
    return replace(
        clock, running=(*clock.running, cycle), numbers={**clock.numbers, target: number}
    )


def _end(
    clock: SlaClock,
    target: SlaTarget,
    at: datetime,
    calendar: BusinessCalendar,
    pauses: Sequence[Pause],
) -> tuple[SlaClock, Ended | None]:
    cycle = clock.cycle(target)
    if cycle is None:
        return clock, None
    due = cycle_due(calendar, cycle, pauses)
    late = due is not None and at > due
    ended = Ended(
        cycle,
        at,
        "breached" if cycle.breached or late else "met",
        due,
        breach_now=late and not cycle.breached,
    )
    running = tuple(c for c in clock.running if c.target != target)
    return replace(clock, running=running), ended


def on_events(
    clock: SlaClock,
    events: Iterable[lc.Event],
    ticket: lc.Ticket,
    targets: SlaTargets | None,
    calendar: BusinessCalendar,
) -> tuple[SlaClock, list[Ended]]:
    """Advance the clock over the lifecycle events of one command; `ticket` is the state
    after them. Returns the cycles that ended."""
    ended: list[Ended] = []
    pauses = ticket.pauses

    def end(targets_to_end: Iterable[SlaTarget], at: datetime) -> None:
        nonlocal clock
        for target in targets_to_end:
            clock, done = _end(clock, target, at, calendar, pauses)
            if done is not None:
                ended.append(done)

    for event in events:
        match event:
            case lc.Opened(at=at):
                clock = _start(clock, "first_response", at, targets)
                clock = _start(clock, "resolution", at, targets)
            case lc.Responded(at=at) | lc.Pending(at=at):
                end(("first_response", "update"), at)
                clock = replace(clock, awaiting_since=None)
            case lc.CustomerReplied(at=at):
                answered = ticket.first_response_at is not None
                if answered and clock.awaiting_since is None:
                    clock = replace(clock, awaiting_since=at)
                    clock = _start(clock, "update", at, targets)
            case lc.Solved(at=at) | lc.Closed(at=at):
                end(_TARGETS, at)
                clock = replace(clock, awaiting_since=None)
            case lc.Reopened(at=at):
                if ticket.first_response_at is None:
                    clock = _start(clock, "first_response", at, targets)
                else:
                    clock = replace(clock, awaiting_since=at)
                    clock = _start(clock, "update", at, targets)
                clock = _start(clock, "resolution", at, targets)
            case lc.SurveyAnswered():
                pass
    return clock, ended


def retarget(
    clock: SlaClock, ticket: lc.Ticket, targets: SlaTargets | None, at: datetime
) -> SlaClock:
    """The ticket's tier changed at `at`: running cycles gain the new tier's target as a leg
    from `at`; a timer the old tier had no target for starts now if it applies."""
    if targets is None or ticket.status in ("solved", "closed"):
        return clock
    running = []
    for cycle in clock.running:
        minutes = targets.minutes(cycle.target)
        if minutes is not None:
            leg = Leg(at, minutes, targets.warning.lead(minutes))
            cycle = replace(cycle, legs=(*cycle.legs, leg))
        running.append(cycle)
    clock = replace(clock, running=tuple(running))
    if ticket.first_response_at is None:
        clock = _start(clock, "first_response", at, targets)
    elif clock.awaiting_since is not None:
        clock = _start(clock, "update", at, targets)
    return _start(clock, "resolution", at, targets)


# -- the scheduler's decision -----------------------------------------------------------


def check(
    clock: SlaClock, calendar: BusinessCalendar, pauses: Sequence[Pause], now: datetime
) -> tuple[SlaClock, list[Warn | Breach]]:
    """What is due at `now`: breaches of overdue cycles, warnings of cycles inside their lead
    (only while business hours are open). Each is returned once: the clock remembers it."""
    now = _utc(now)
    actions: list[Warn | Breach] = []
    running = []
    for cycle in clock.running:
        due = cycle_due(calendar, cycle, pauses)
        if due is not None and not cycle.breached and now > due:
            cycle = replace(cycle, breached=True, warned=True)
            actions.append(Breach(cycle, due))
        elif due is not None and not cycle.warned:
            warn = warn_at(calendar, cycle, pauses)
            if warn is not None and warn <= now and calendar.is_open(now):
                cycle = replace(cycle, warned=True)
                actions.append(Warn(cycle, due, time_left(calendar, cycle, pauses, now)))
        running.append(cycle)
    return replace(clock, running=tuple(running)), actions


def next_checks(
    clock: SlaClock, calendar: BusinessCalendar, pauses: Sequence[Pause], now: datetime
) -> datetime | None:
    """The earliest `next_check` of the running cycles."""
    times = [t for c in clock.running if (t := next_check(calendar, c, pauses, now)) is not None]
    return min(times, default=None)


@dataclass(frozen=True)
class Deadline:
    """The nearest deadline of a ticket, for the queue."""

    target: SlaTarget
    cycle: int
    due: datetime
    left: timedelta
    at_risk_from: datetime | None
    breached: bool


def nearest_deadline(
    clock: SlaClock, calendar: BusinessCalendar, pauses: Sequence[Pause], now: datetime
) -> Deadline | None:
    """The running cycle due first (None when every timer is paused or none runs)."""
    best: Deadline | None = None
    for cycle in clock.running:
        due = cycle_due(calendar, cycle, pauses)
        if due is None:
            continue
        if best is None or due < best.due:
            best = Deadline(
                cycle.target,
                cycle.number,
                due,
                time_left(calendar, cycle, pauses, now),
                warn_at(calendar, cycle, pauses),
                cycle.breached or _utc(now) > due,
            )
    return best


def at_risk_from(
    clock: SlaClock, calendar: BusinessCalendar, pauses: Sequence[Pause]
) -> datetime | None:
    """From when the ticket is at risk: the earliest warning instant of a running, unpaused
    cycle (the queue shows it at risk from then until the cycle ends)."""
    times = [
        t
        for c in clock.running
        if cycle_due(calendar, c, pauses) is not None
        and (t := warn_at(calendar, c, pauses)) is not None
    ]
    return min(times, default=None)


def resume(
    ticket: lc.Ticket,
    targets: SlaTargets | None,
    awaiting_since: datetime | None,
    breached: Iterable[str],
) -> SlaClock:
    """The clock of a ticket stored before cycles were recorded: cycle 1 of every timer that
    applies to its state, marked breached where a breach was recorded."""
    done = set(breached)
    clock = SlaClock()
    if ticket.status in ("solved", "closed"):
        return clock
    if ticket.first_response_at is None:
        clock = _start(clock, "first_response", ticket.opened_at, targets)
    elif awaiting_since is not None and ticket.status != "pending":
        clock = replace(clock, awaiting_since=_utc(awaiting_since))
        clock = _start(clock, "update", _utc(awaiting_since), targets)
    clock = _start(clock, "resolution", ticket.opened_at, targets)
    running = tuple(
        replace(c, breached=True, warned=True) if c.target in done else c for c in clock.running
    )
    return replace(clock, running=running)
