"""What the support desk shows: queue filters, deadlines in words, labels. Pure rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from .answers import RunningCycle

TIERS = {
    "priority": "Priority",
    "per_incident": "Per incident",
    "partner": "Partner",
    "trial": "Trial",
    "basic": "Basic (email only)",
    "forum": "Forum",
}
STATUSES = {
    "new": "New",
    "open": "Open",
    "pending": "Waiting for customer",
    "solved": "Solved",
    "closed": "Closed",
}
SLA_STATES = {
    "breached": "Breached",
    "at_risk": "At risk",
    "on_track": "On track",
    "paused": "Paused (waiting for customer)",
    "none": "No running target",
}
TARGETS = {"first_response": "First response", "update": "Next update", "resolution": "Resolution"}
COVERAGE = {
    "active": "Covered",
    "perpetual": "Covered while active",
    "lapsed": "Lapsed",
    "ended": "Ended (license not active)",
    "none": "Never covered",
}
KEY_STATUS = {
    "verified": "entitles this ticket",
    "other_account": "belongs to another account: ignored",
    "unknown": "is not a known license: ignored",
    "other_product": "is for another product: ignored",
    "unchecked": "was not checked (older ticket)",
}
EVENTS = {
    "opened": "Request opened",
    "responded": "Reply to the customer",
    "customer_replied": "Customer replied",
    "pending": "Waiting for customer",
    "solved": "Solved",
    "closed": "Closed",
    "reopened": "Reopened",
    "survey_answered": "Survey answered",
    "note": "Internal note",
    "assigned": "Assignment",
    "tier_changed": "Tier changed",
    "sla_warning": "SLA warning",
    "sla_breached": "SLA breached",
}
ACTIONS = {
    "reply": "Reply sent to the customer.",
    "note": "Internal note added. The customer does not see it.",
    "pending": "Sent. The ticket now waits for the customer.",
    "solve": "Marked as solved.",
    "close": "Closed.",
    "assign": "The ticket is yours.",
    "unassign": "The ticket is unassigned.",
}
UNASSIGNED = "none"
MINE = "me"


@dataclass(frozen=True)
class QueueQuery:
    """The queue's filters as chosen on the page (unknown values are ignored)."""

    tier: str = ""
    status: str = ""
    product: str = ""
    assignee: str = ""
    sla: str = ""

    @classmethod
    def of(cls, params: Mapping[str, str], products: set[str]) -> QueueQuery:
        def pick(name: str, allowed: set[str] | Mapping[str, str]) -> str:
            value = params.get(name, "")
            return value if value in allowed else ""

        return cls(
            tier=pick("tier", TIERS),
            status=pick("status", {k for k in STATUSES if k != "closed"}),
            product=pick("product", products),
            assignee=pick("assignee", {UNASSIGNED, MINE}),
            sla=pick("sla", SLA_STATES),
        )

    def api_filters(self, me: str) -> dict[str, str | None]:
        """What ticketing's `GET /queue` gets for these choices."""
        assignee = me if self.assignee == MINE else (self.assignee or None)
        return {
            "tier": self.tier or None,
            "status": self.status or None,
            "product": self.product or None,
            "assignee": assignee,
            "sla": self.sla or None,
        }

    def as_params(self, **changes: str) -> dict[str, str]:
        values = {
            "tier": self.tier,
            "status": self.status,
            "product": self.product,
            "assignee": self.assignee,
            "sla": self.sla,
            **changes,
        }
        return {k: v for k, v in values.items() if v}


def duration(minutes: int) -> str:
    """Business minutes in words: `45 min`, `3 h 15 min`."""
    minutes = abs(minutes)
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" + (f" {rest} min" if rest else "")


def time_left(left: int | None) -> str:
    """`2 h 30 min left` or `overdue by 30 min`, in business time."""
    if left is None:
        return ""
    if left < 0:
        return f"overdue by {duration(left)}"
    return f"{duration(left)} left"


def assignee_counts(counts: Mapping[str, int], me: str) -> dict[str, int]:
    """The assignee filter's counts under the page's choices: mine and unassigned."""
    return {MINE: counts.get(me, 0), UNASSIGNED: counts.get(UNASSIGNED, 0)}


@dataclass(frozen=True, slots=True)
class CycleAtNow:
    """A running SLA cycle as the desk shows it, with its state at the page's time."""

    target: str
    cycle: int
    due_at: str | None
    business_minutes_left: int
    state: str


def cycle_states(running: Sequence[RunningCycle], now: datetime) -> list[CycleAtNow]:
    """Each running SLA cycle with its state at `now`: breached, at_risk (inside its warning
    lead), paused (waiting for the customer) or on_track."""
    shown = []
    for cycle in running:
        warn = cycle.warn_at
        if cycle.breached:
            state = "breached"
        elif cycle.paused:
            state = "paused"
        elif warn is not None and datetime.fromisoformat(warn) <= now:
            state = "at_risk"
        else:
            state = "on_track"
        shown.append(
            CycleAtNow(cycle.target, cycle.cycle, cycle.due_at, cycle.business_minutes_left, state)
        )
    return shown


def license_actions(status: str, kind: str) -> list[str]:
    """The status changes an admin can make to a license of this kind in this status
    (licensing decides)."""
    if status in ("revoked", "deactivated"):
        return []
    actions = {"active": ["suspend"], "suspended": ["reinstate"]}.get(status, [])
    actions.append("revoke")
    if kind in ("msp", "subscription"):
        actions.append("deactivate")
    return actions
