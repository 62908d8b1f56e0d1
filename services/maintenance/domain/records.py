"""The records maintenance's adapters return and its handlers and routes use (pure data)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any, Self, TypeVar

from entitle_events.common import CoveragePeriod
from entitle_events.maintenance import CoverageExtended

from services.policy.catalog import MaintenancePlan
from services.policy.coverage import LicenseFacts, LicenseStatus, Period, coverage_end
from services.policy.lifecycle import notice_at

R = TypeVar("R")


def _of(cls: type[R], row: Any) -> R:
    """`cls` from the columns of `row` that name its fields (extra columns are ignored)."""
    return cls(**{f.name: row[f.name] for f in fields(cls)})  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Coverage:
    """One license maintenance knows of (a `coverage` row)."""

    license_id: uuid.UUID
    license_key: str
    product: str
    edition: str
    account_id: str
    contact_email: str
    plan: str | None
    purchased_at: datetime
    major_version: int
    perpetual: bool
    status: LicenseStatus
    ends_at: datetime | None
    notice_at: datetime | None
    base_license_id: uuid.UUID | None
    reseller_account_id: str | None

    @classmethod
    def of(cls, row: Any) -> Self:
        return _of(cls, row)

    @property
    def facts(self) -> LicenseFacts:
        """The domain's view of the license."""
        return LicenseFacts(
            purchased_at=self.purchased_at,
            major_version=self.major_version,
            product=self.product,
            edition=self.edition,
            status=self.status,
        )

    def with_cover(self, periods: Sequence[Period], plan: MaintenancePlan | None) -> Coverage:
        """The license with the cover end and the notice due date that `periods` give
        (neither while perpetual or never covered)."""
        ends_at = None if self.perpetual else max((p.ends_at for p in periods), default=None)
        due = notice_at(plan, ends_at) if plan is not None and ends_at is not None else None
        return replace(self, ends_at=ends_at, notice_at=due)

    @property
    def ref(self) -> dict[str, str]:
        """The CoverageRef fields of every coverage event."""
        return {
            "license_id": str(self.license_id),
            "license_key": self.license_key,
            "product": self.product,
            "account_id": self.account_id,
            "contact_email": self.contact_email,
        }

    def extended(
        self, plan: str, order_id: str | None, period: Period, periods: Sequence[Period]
    ) -> CoverageExtended:
        """The event telling that `period` (one of `periods`, the license's cover now)
        extends this license, bought by `order_id`, under `plan`."""
        return CoverageExtended(
            **self.ref,
            plan=plan,
            order_id=order_id,
            period=CoveragePeriod(
                starts_at=period.starts_at, ends_at=period.ends_at, source=period.source
            ),
            ends_at=coverage_end(periods),
        )


@dataclass(frozen=True, slots=True)
class MaintenanceCode:
    """A maintenance code bought separately, attached to a license once."""

    code: str
    sku: str
    plan: str
    product: str
    edition: str | None
    term_months: int
    order_id: str
    line_id: str
    account_id: str
    bought_at: datetime
    used_by_license: uuid.UUID | None
    refunded_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> Self:
        return _of(cls, row)


@dataclass(frozen=True, slots=True)
class ListedCode:
    """A maintenance code as the account's list shows it."""

    code: str
    sku: str
    plan: str
    product: str
    term_months: int
    order_id: str
    account_id: str
    bought_at: datetime
    used_at: datetime | None
    used_by_license_key: str | None

    @classmethod
    def of(cls, row: Any) -> Self:
        return _of(cls, row)


@dataclass(frozen=True, slots=True)
class PendingFanout:
    """A new major still to announce to the product's licenses, from `cursor` on."""

    product: str
    version: str
    released_at: datetime
    cursor: uuid.UUID | None

    @classmethod
    def of(cls, row: Any) -> Self:
        return _of(cls, row)
