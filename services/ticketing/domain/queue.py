"""The agents' queue: which tickets a filter keeps, by tier, status, product, assignee and SLA
state; and the filters of the ticket list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SlaState = Literal["breached", "at_risk", "on_track", "paused", "none"]
SLA_STATES: tuple[SlaState, ...] = ("breached", "at_risk", "on_track", "paused", "none")
OPEN_STATUSES = ("new", "open", "pending")
FACETS = ("tier", "status", "product", "assignee", "sla")
UNASSIGNED = "none"


@dataclass(frozen=True)
class TicketFilter:
    """The ticket list's filters; None: any."""

    account_id: str | None = None
    status: str | None = None
    tier: str | None = None
    breached: bool | None = None
    """Tickets of which a target was ever breached (False: never)."""


@dataclass(frozen=True)
class QueueFilter:
    """None: any. `statuses` default to the ones that wait on someone (not solved)."""

    tier: str | None = None
    statuses: tuple[str, ...] = OPEN_STATUSES
    product: str | None = None
    assignee: str | None = None
    """An agent's address, or "none" for unassigned tickets."""
    sla: SlaState | None = None

    def matches(self, facets: dict[str, str | None], skip: str) -> bool:
        """Whether a ticket with these facet values passes every filter but `skip`."""
        checks = {
            "tier": self.tier is None or facets["tier"] == self.tier,
            "status": facets["status"] in self.statuses,
            "product": self.product is None or facets["product"] == self.product,
            "assignee": self.assignee is None
            or (facets["assignee"] or UNASSIGNED) == self.assignee,
            "sla": self.sla is None or facets["sla"] == self.sla,
        }
        return all(ok for name, ok in checks.items() if name != skip)
