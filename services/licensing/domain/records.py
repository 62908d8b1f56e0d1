"""What licensing's tables hold, as its adapters return it. Pure data."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, NamedTuple
from uuid import UUID


@dataclass(frozen=True, slots=True)
class License:
    license_id: UUID
    license_key: str
    kind: str
    product: str
    edition: str
    sku: str
    account_id: str
    company: str
    contact_email: str
    reseller_account_id: str | None
    pooled: bool
    order_id: str
    line_id: str
    purchased_at: datetime
    major_version: int
    expires_at: datetime | None
    auto_renew: bool
    max_activations: int | None
    maintenance_plan: str | None
    status: str
    created_at: datetime
    base_license_id: UUID | None

    def visible_to(self, account_id: str | None) -> bool:
        """An account-bound caller sees its own licenses and, for a reseller, those it sold;
        None is a caller bound to no account."""
        return account_id is None or account_id in (self.account_id, self.reseller_account_id)

    def owned_by(self, owner: Owner) -> License:
        return replace(
            self,
            account_id=owner.account_id,
            company=owner.company,
            contact_email=owner.email,
            pooled=False,
        )


@dataclass(frozen=True, slots=True)
class Owner:
    """The company a license is given or transferred to."""

    account_id: str
    company: str
    email: str


@dataclass(frozen=True, slots=True)
class ActivatedMachine:
    fingerprint: str
    platform: str
    hostname: str
    activated_at: datetime


@dataclass(frozen=True, slots=True)
class DescribedLicense:
    """A license with the machines it is activated on."""

    license: License
    machines: tuple[ActivatedMachine, ...]


class ValidationRecord(NamedTuple):
    """What validation reads of one key. For an add-on, versions, release date and coverage
    are its base license's, seats its own. A named tuple, not a frozen dataclass: it is built
    on every validation, where a frozen dataclass's `__init__` costs several times more."""

    license_id: UUID
    status: str
    expires_at: datetime | None
    max_activations: int | None
    major_version: int
    purchased_at: datetime
    product: str
    maintenance_plan: str | None
    activations: int
    fingerprint_activated: bool
    perpetual: bool
    periods: tuple[tuple[datetime, datetime], ...]
    release_date: datetime | None


@dataclass(frozen=True, slots=True)
class Release:
    product: str
    version: str
    release_kind: Literal["maintenance", "update"]
    released_at: datetime


@dataclass(frozen=True, slots=True)
class LicenseFilter:
    """The Management Console's filters; None filters nothing."""

    viewer: str | None = None
    """An account-bound caller's account: only its own licenses and those it sold."""
    account: str | None = None
    kind: str | None = None
    """A license kind, or `commercial`: every kind but trial."""
    product: str | None = None
    order_id: str | None = None
    email: str | None = None
    state: Literal["valid", "expired"] | None = None
    usage: Literal["used", "unused"] | None = None
    auto_renew: bool | None = None

    def by_type(self) -> LicenseFilter:
        """The licenses of the same type, whatever their state, use or renewal."""
        return replace(self, state=None, usage=None, auto_renew=None)

    @property
    def filters_type(self) -> bool:
        return self.kind is not None or self.product is not None


LineOutcome = Literal["issued", "rejected", "renewed", "upgraded"]


@dataclass(frozen=True, slots=True)
class LineClaim:
    """An order line handled, and how; a line is claimed once."""

    order_id: str
    line_id: str
    outcome: LineOutcome


@dataclass(frozen=True, slots=True)
class CoverageRecorded:
    """Coverage started or extended: the license's periods, and whether it is perpetual."""

    license_id: str
    periods: tuple[tuple[datetime, datetime], ...]
    perpetual: bool


@dataclass(frozen=True, slots=True)
class CoverageCut:
    """Coverage ended early: nothing is covered after `ended_at`."""

    license_id: str
    ended_at: datetime


@dataclass(frozen=True, slots=True)
class CoverageTakenBack:
    """A refund took these periods back."""

    license_id: str
    periods: tuple[tuple[datetime, datetime], ...]
