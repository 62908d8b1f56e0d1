"""The other services' answers the portal reads, as records. Only what the pages use is
kept (a service may add fields). Times and money stay the text the service sent: pages show
them as they came (`<time datetime="...">`, `120.00 EUR`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


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


class LicenseList(Answer):
    items: tuple[License, ...]
    next_offset: int | None = None


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


class CodeList(Answer):
    items: tuple[MaintenanceCode, ...]
