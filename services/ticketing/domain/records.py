"""What ticketing stores and reads back, as typed records: a ticket with its lifecycle state
and SLA clock, its timeline, and the entitlement projection's rows the desk shows. Pure data:
the adapters build them from rows, handlers change them with `dataclasses.replace`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from entitle_events.ticketing import TicketKind

from .cycles import SlaClock
from .lifecycle import Ticket
from .queue import SlaState


@dataclass(frozen=True, slots=True)
class TicketRequest:
    """What a customer asks for help with."""

    account_id: str
    email: str
    product: str
    version: str
    kind: TicketKind
    subject: str
    body: str
    license_key: str | None


@dataclass(frozen=True, slots=True)
class TicketRow(TicketRequest):
    """A stored ticket: the request, its tier, its state and SLA clock, and the columns
    derived from them that the schedulers, the queue and the filters read."""

    ticket_id: str
    number: str
    # Its entitlement.
    tier: str
    tier_at_open: str
    tier_reason: str | None
    credit_used: bool
    license_id: str | None
    license_key_status: str | None
    reevaluate_at: datetime | None
    # Its state.
    status: str
    opened_at: datetime
    updated_at: datetime
    first_response_due: datetime | None
    state: Ticket
    assignee: str | None = None
    clock: SlaClock | None = None
    """None: a ticket stored before its cycles were recorded (rebuilt from its breaches)."""
    # Derived from the state and clock (what `derive` fills in).
    awaiting_agent_since: datetime | None = None
    sla_check_at: datetime | None = None
    auto_close_at: datetime | None = None
    next_due_at: datetime | None = None
    next_target: str | None = None
    at_risk_from: datetime | None = None


@dataclass(frozen=True, slots=True)
class ListedTicket:
    ticket: TicketRow
    breached: bool
    """Any target of the ticket was ever breached."""


@dataclass(frozen=True, slots=True)
class QueuedTicket:
    ticket: TicketRow
    sla_state: SlaState


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    type: str
    author: str | None
    actor: str | None
    visibility: str
    body: str | None
    detail: dict[str, Any]
    """Free-form facts of the entry (tier, status, reason, ...), stored as JSON."""


@dataclass(frozen=True, slots=True)
class KeyedLicense:
    """The projected license a license key names."""

    license_id: str
    account_id: str
    product: str


@dataclass(frozen=True, slots=True)
class SupportPlan:
    order_id: str
    line_id: str
    starts_at: datetime
    ends_at: datetime | None

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now and (self.ends_at is None or self.ends_at > now)


@dataclass(frozen=True, slots=True)
class Credits:
    """Incident credits granted to an account, and used by its tickets."""

    granted: int
    used: int

    @property
    def left(self) -> int:
        return max(self.granted - self.used, 0)


@dataclass(frozen=True, slots=True)
class VersionSupport:
    """Whether a version is supported and until when (None: no end known yet); `known`:
    the product's releases are known and the version parses."""

    supported: bool
    until: datetime | None
    known: bool


@dataclass(frozen=True, slots=True)
class ProjectedLicense:
    """A license as the entitlement projection keeps it (`ent_licenses`)."""

    license_id: str
    account_id: str
    product: str
    kind: str
    status: str
    purchased_at: datetime
    expires_at: datetime | None
    major_version: int
    updated_at: datetime
    license_key: str | None
    edition: str | None


@dataclass(frozen=True, slots=True)
class ProjectedCoverage:
    """A license's maintenance cover as the projection keeps it (`ent_coverage`); it may
    arrive before the license itself."""

    license_id: str
    account_id: str
    product: str
    covered: bool
    ends_at: datetime | None
    perpetual: bool
    updated_at: datetime
    plan: str | None


@dataclass(frozen=True, slots=True)
class LicenseWithCoverage:
    """A projected license with its maintenance cover (None: no cover known)."""

    license: ProjectedLicense
    coverage: ProjectedCoverage | None


@dataclass(frozen=True, slots=True)
class CreditGrant:
    """Incident credits an order line (an incident pack) grants an account."""

    order_id: str
    line_id: str
    account_id: str
    product: str
    credits: int
    granted_at: datetime


@dataclass(frozen=True, slots=True)
class PlanGrant:
    """A support plan an order line grants an account."""

    order_id: str
    line_id: str
    account_id: str
    product: str
    starts_at: datetime
    ends_at: datetime | None


@dataclass(frozen=True, slots=True)
class ProjectedRelease:
    product: str
    version: str
    major: int
    released_at: datetime


@dataclass(frozen=True, slots=True)
class Partner:
    account_id: str
    since: datetime
