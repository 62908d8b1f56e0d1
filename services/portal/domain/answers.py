"""The other services' answers the portal reads, as records. Only what the pages use is
kept (a service may add fields). Times and money stay the text the service sent: pages show
them as they came (`<time datetime="...">`, `120.00 EUR`)."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


class Listing(Answer, Generic[T]):
    """One page of a listing, and where the next starts (None: the last)."""

    items: tuple[T, ...]
    next_offset: int | None = None


# -- licensing ---------------------------------------------------------------------------


class Activation(Answer):
    fingerprint: str
    platform: str
    hostname: str
    activated_at: str


class License(Answer):
    key: str
    # what was bought
    product: str
    edition: str
    kind: str
    sku: str
    major_version: int
    order_id: str
    purchased_at: str
    # who holds it (a reseller until it is transferred)
    account_id: str
    company: str
    reseller_account_id: str | None
    pooled: bool
    # its state
    status: str
    expires_at: str | None
    auto_renew: bool
    max_activations: int | None
    """None: unlimited (a site license)."""
    activations: tuple[Activation, ...]


class FileCoverage(Answer):
    perpetual: bool
    ends_at: str | None


class LicenseFacts(Answer):
    """What a license's signed file states (its payload): anyone holding the key reads it."""

    account_id: str
    product: str
    edition: str
    kind: str
    status: str
    major_version: int
    coverage: FileCoverage


class Release(Answer):
    product: str
    version: str
    release_kind: str
    released_at: str


# -- maintenance -------------------------------------------------------------------------


class Period(Answer):
    starts_at: str
    ends_at: str
    source: str


class Coverage(Answer):
    status: str
    ends_at: str | None
    renew_until: str | None
    periods: tuple[Period, ...]


class RenewalQuote(Answer):
    allowed: bool
    code: str
    sku: str | None
    list_price: str
    price: str | None
    discount_pct: str
    starts_at: str | None
    ends_at: str | None
    currency: str
    reason: str


class Eligibility(Answer):
    entitled: bool
    code: str
    detail: str
    renewal: RenewalQuote | None = None


class MaintenanceCode(Answer):
    code: str
    plan: str
    term_months: int
    order_id: str


# -- ticketing ---------------------------------------------------------------------------


class SupportOptions(Answer):
    """What a request would get (its tier, the first answer's due time), or why it would be
    refused and where to go instead."""

    accepted: bool
    tier: str | None
    first_response_due: str | None = None
    code: str | None = None
    reason: str | None = None
    pointer: str | None = None


class TicketSummary(Answer):
    number: str
    subject: str
    status: str
    tier: str
    updated_at: str


class TimelineEntry(Answer):
    at: str
    type: str
    actor: str | None
    visibility: str
    body: str | None
    detail: dict[str, Any]
    """What the event carries, which differs by type (a rating, a deadline, a reason)."""


class Survey(Answer):
    rating: int
    answered_at: str


class RunningCycle(Answer):
    """One SLA target running on a ticket (desk only)."""

    target: str
    cycle: int
    due_at: str | None
    warn_at: str | None
    business_minutes_left: int
    paused: bool
    breached: bool


class Sla(Answer):
    running: tuple[RunningCycle, ...]
    contact_attempts: int
    auto_close_attempts: int
    closes_without_reply_at: str | None = None


class Ticket(Answer):
    """A ticket with its timeline; for the desk also its assignee and SLA."""

    number: str
    subject: str
    status: str
    tier: str
    kind: str
    product: str
    version: str
    account_id: str
    email: str
    opened_at: str
    first_response_due: str | None
    first_response_at: str | None
    auto_close_at: str | None
    assignee: str | None = None
    survey: Survey | None
    timeline: tuple[TimelineEntry, ...]
    sla: Sla | None = None


# -- the support desk's queue and entitlement panel --------------------------------------


class Deadline(Answer):
    target: str
    due_at: str
    business_minutes_left: int
    """Negative: overdue by that many business minutes."""


class QueueItem(Answer):
    number: str
    subject: str
    account_id: str
    email: str
    product: str
    version: str
    tier: str
    status: str
    assignee: str | None
    sla_state: str
    next_deadline: Deadline | None
    contact_attempts: int
    auto_close_attempts: int
    closes_without_reply_at: str | None


class Queue(Answer):
    items: tuple[QueueItem, ...]
    counts: dict[str, dict[str, int]]
    """Open tickets by filter (tier, status, product, assignee, sla) and value."""
    total: int
    next_offset: int | None
    as_of: str


class PanelCoverage(Answer):
    status: str
    ends_at: str | None
    plan_name: str | None


class PanelLicense(Answer):
    license_id: str
    license_key: str | None
    kind: str
    edition: str | None
    status: str
    major_version: int
    coverage: PanelCoverage
    named_on_ticket: bool


class PanelTier(Answer):
    current: str
    at_open: str
    reason: str | None


class PanelKey(Answer):
    key: str
    status: str | None


class PanelPlan(Answer):
    order_id: str
    ends_at: str | None
    active: bool


class PanelCredits(Answer):
    granted: int
    left: int


class PanelVersion(Answer):
    version: str
    supported: bool
    supported_until: str | None
    releases_known: bool


class Entitlement(Answer):
    """What the customer of a ticket is entitled to, beside the ticket on the desk."""

    product: str
    tier: PanelTier
    license_key: PanelKey | None
    licenses: tuple[PanelLicense, ...]
    support_plans: tuple[PanelPlan, ...]
    incident_credits: PanelCredits
    partner_since: str | None
    version: PanelVersion
    as_of: str
