"""What the support desk reads, as the HTTP API answers it: a ticket's SLA, the queue by
nearest deadline and the entitlement panel (pydantic models: the routes answer them as
they are, and the OpenAPI document describes them)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from entitle_events.ticketing import SupportTier, TicketKind
from pydantic import BaseModel, Field

from .queue import SlaState

Status = Literal["new", "open", "pending", "solved", "closed"]
Target = Literal["first_response", "update", "resolution"]
CoverageStatus = Literal["active", "lapsed", "perpetual", "ended", "none"]


class Deadline(BaseModel):
    target: Target
    cycle: int
    due_at: datetime
    business_minutes_left: int = Field(description="Negative: business minutes overdue.")
    at_risk_from: datetime | None = Field(
        description="When the warning lead begins (always inside business hours)."
    )


class RunningCycle(BaseModel):
    target: Target
    cycle: int
    started_at: datetime
    due_at: datetime | None = Field(description="Null while the ticket waits on the customer.")
    warn_at: datetime | None
    business_minutes_left: int
    paused: bool
    breached: bool


class SlaView(BaseModel):
    running: list[RunningCycle]
    next_deadline: Deadline | None
    contact_attempts: int
    auto_close_attempts: int
    closes_without_reply_at: datetime | None = Field(
        description="While pending: when the ticket closes itself without a reply (after the"
        " last contact attempt is made)."
    )


class QueueItem(BaseModel):
    number: str
    ticket_id: str
    account_id: str
    email: str
    subject: str
    product: str
    version: str
    kind: TicketKind
    tier: SupportTier
    status: Status
    assignee: str | None
    opened_at: datetime
    updated_at: datetime
    sla_state: SlaState
    next_deadline: Deadline | None
    contact_attempts: int
    auto_close_attempts: int
    closes_without_reply_at: datetime | None


class Queue(BaseModel):
    items: list[QueueItem]
    counts: dict[str, dict[str, int]] = Field(
        description="Per filter (tier, status, product, assignee, sla), the tickets each value"
        " would show with the other filters applied; assignee `none`: unassigned."
    )
    total: int
    next_offset: int | None
    as_of: datetime


class PanelCoverage(BaseModel):
    status: CoverageStatus
    ends_at: datetime | None
    plan: str | None = Field(description="The maintenance plan the cover comes from.")
    plan_name: str | None


class PanelLicense(BaseModel):
    license_id: str
    license_key: str | None
    kind: str
    edition: str | None
    status: str
    purchased_at: datetime
    expires_at: datetime | None
    major_version: int
    coverage: PanelCoverage
    named_on_ticket: bool


class PanelTier(BaseModel):
    current: SupportTier
    at_open: SupportTier
    reason: str | None
    credit_used: bool


class PanelKey(BaseModel):
    key: str
    status: str | None = Field(
        description="verified (entitles the ticket), other_account, unknown, other_product"
        " (ignored), unchecked (a ticket older than the check)."
    )


class PanelPlan(BaseModel):
    order_id: str
    line_id: str
    starts_at: datetime
    ends_at: datetime | None
    active: bool


class PanelCredits(BaseModel):
    granted: int
    used: int
    left: int


class PanelVersion(BaseModel):
    version: str
    supported: bool
    supported_until: datetime | None = Field(description="Null: no end known yet.")
    releases_known: bool


class EntitlementPanel(BaseModel):
    account_id: str
    product: str
    tier: PanelTier
    license_key: PanelKey | None
    licenses: list[PanelLicense]
    support_plans: list[PanelPlan]
    incident_credits: PanelCredits
    partner_since: datetime | None
    version: PanelVersion
    as_of: datetime
