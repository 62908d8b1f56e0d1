"""Events of maintenance coverage (topic `maintenance.coverage`, keyed by license id)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, Field

from .common import AccountId, CoveragePeriod, Currency, Email, Money
from .envelope import EventData
from .topics import MAINTENANCE_COVERAGE


class CoverageRef(EventData):
    license_id: str
    license_key: str
    product: str
    account_id: AccountId
    contact_email: Email


class CoverageStarted(CoverageRef):
    event_type: ClassVar[str] = "entitle.maintenance.coverage.started.v1"
    topic: ClassVar[str] = MAINTENANCE_COVERAGE

    plan: str
    order_id: str | None = None
    periods: list[CoveragePeriod]
    ends_at: AwareDatetime | None = Field(description="Null: covered while the license is active.")


class CoverageExtended(CoverageRef):
    event_type: ClassVar[str] = "entitle.maintenance.coverage.extended.v1"
    topic: ClassVar[str] = MAINTENANCE_COVERAGE

    plan: str
    order_id: str | None = None
    period: CoveragePeriod
    ends_at: AwareDatetime | None


class CoverageExpiring(CoverageRef):
    event_type: ClassVar[str] = "entitle.maintenance.coverage.expiring.v1"
    topic: ClassVar[str] = MAINTENANCE_COVERAGE

    ends_at: AwareDatetime
    renewal_price: Money | None = None
    renewal_list_price: Money | None = None
    currency: Currency | None = None


class CoverageLapsed(CoverageRef):
    event_type: ClassVar[str] = "entitle.maintenance.coverage.lapsed.v1"
    topic: ClassVar[str] = MAINTENANCE_COVERAGE

    ended_at: AwareDatetime
    renew_until: AwareDatetime | None = Field(
        default=None, description="Last day a renewal is accepted; null when there is no limit."
    )


class CoverageEnded(CoverageRef):
    event_type: ClassVar[str] = "entitle.maintenance.coverage.ended.v1"
    topic: ClassVar[str] = MAINTENANCE_COVERAGE

    ended_at: AwareDatetime
    reason: str


class CoverageWithdrawn(CoverageRef):
    """The cover a refunded order bought (a renewal, an associated maintenance code or an
    upgrade's cover) is taken back: `periods` no longer cover the license."""

    event_type: ClassVar[str] = "entitle.maintenance.coverage.withdrawn.v1"
    topic: ClassVar[str] = MAINTENANCE_COVERAGE

    order_id: str
    line_ids: list[str] | None = Field(
        default=None, description="The refunded lines; null: the whole order."
    )
    periods: list[CoveragePeriod] = Field(description="The periods taken back.")
    ends_at: AwareDatetime | None = Field(
        description="End of the cover that remains; null when no dated cover remains."
    )
    reason: str = ""


class RenewalRejected(EventData):
    event_type: ClassVar[str] = "entitle.maintenance.renewal.rejected.v1"
    topic: ClassVar[str] = MAINTENANCE_COVERAGE

    order_id: str
    line_id: str
    sku: str
    license_key: str | None
    account_id: AccountId
    contact_email: Email
    code: str
    reason: str


class UpgradeAvailable(CoverageRef):
    event_type: ClassVar[str] = "entitle.maintenance.upgrade.available.v1"
    topic: ClassVar[str] = MAINTENANCE_COVERAGE

    version: str
    entitled: bool = Field(description="False: the customer must renew to get this version.")
    renewal_sku: str | None = None
    renewal_price: Money | None = None
    currency: Currency | None = None


class MaintenanceCodesIssued(EventData):
    """Maintenance bought without a license: codes to associate with licenses later
    (`POST /associations`)."""

    event_type: ClassVar[str] = "entitle.maintenance.codes.issued.v1"
    topic: ClassVar[str] = MAINTENANCE_COVERAGE

    order_id: str
    line_id: str
    sku: str
    product: str
    plan: str
    account_id: AccountId
    contact_email: Email
    codes: list[str]
    term_months: int | None = None
