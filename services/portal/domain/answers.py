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
