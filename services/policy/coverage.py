"""Coverage periods of a license. Pure rules, no I/O.

A period is half-open: covered from `starts_at` (included) to `ends_at` (excluded). Every
period produced by this package starts at or after the end of the periods it is added to,
so a license's periods never overlap and "covered time" is simply their summed length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from dateutil.relativedelta import relativedelta
from entitle_events.common import CoverageSource, LicenseKind

from services.policy.catalog import MaintenancePlan

LicenseStatus = Literal["active", "suspended", "expired", "revoked", "deactivated"]

# Any of these: no renewal, no upgrade (a suspension may be lifted, the others are final).
INACTIVE_STATUSES: Final[frozenset[str]] = frozenset(
    {"suspended", "expired", "revoked", "deactivated"}
)
# Any of these: the license's coverage has ended for good.
ENDED_STATUSES: Final[frozenset[str]] = frozenset({"expired", "revoked", "deactivated"})
# Every source but the free bonus one was paid for (alone or with the license).
PAID_SOURCES: Final[frozenset[str]] = frozenset(
    {"included", "purchase", "renewal", "association", "upgrade"}
)


@dataclass(frozen=True)
class Period:
    starts_at: datetime
    ends_at: datetime
    source: CoverageSource

    def contains(self, when: datetime) -> bool:
        return self.starts_at <= when < self.ends_at

    @property
    def length(self) -> timedelta:
        return self.ends_at - self.starts_at


@dataclass(frozen=True)
class LicenseFacts:
    """What the maintenance rules need to know about a license (from licensing's events)."""

    purchased_at: datetime
    major_version: int
    kind: LicenseKind = "perpetual"
    product: str = ""
    edition: str = ""
    status: LicenseStatus = "active"

    @property
    def is_active(self) -> bool:
        return self.status not in INACTIVE_STATUSES


def add_months(when: datetime, months: int) -> datetime:
    """Calendar months; the 31st plus one month is the last day of the next month."""
    return when + relativedelta(months=months)


def initial_periods(
    plan: MaintenancePlan, purchased_at: datetime, major_version: int
) -> list[Period]:
    """Cover a new license starts with: complimentary months first, then included ones.

    A plan with neither (and not perpetual) starts no coverage: it is bought separately.
    A license below the plan's `min_major_version` starts none either (seed 000: v3/v4
    users must upgrade first); `plan.covers_new_license` says the same to licensing.
    """
    periods: list[Period] = []
    if plan.perpetual_while_active or not plan.covers_new_license(major_version):
        return periods
    start = purchased_at
    if plan.complimentary_months:
        end = add_months(start, plan.complimentary_months)
        periods.append(Period(start, end, "complimentary"))
        start = end
    if plan.included_months:
        # Counted from the purchase, not from the (possibly clamped) complimentary end:
        # 29 Dec + 2 + 1 months ends 29 Mar, not 28 Mar via 28 Feb.
        total = plan.complimentary_months + plan.included_months
        periods.append(Period(start, add_months(purchased_at, total), "included"))
    return periods


def coverage_end(periods: Sequence[Period]) -> datetime | None:
    return max((p.ends_at for p in periods), default=None)


def latest_period(periods: Sequence[Period]) -> Period | None:
    """The period that ends last (the one a renewal continues); None without periods."""
    return max(periods, key=lambda p: p.ends_at, default=None)


def covering_period(periods: Sequence[Period], when: datetime) -> Period | None:
    """The period covering the instant `when`, if any (the earliest-starting one)."""
    return min((p for p in periods if p.contains(when)), key=lambda p: p.starts_at, default=None)


def is_covered(periods: Sequence[Period], when: datetime) -> bool:
    return covering_period(periods, when) is not None


def covered_time(periods: Sequence[Period]) -> timedelta:
    """Length of the union of the periods (overlaps counted once)."""
    total = timedelta(0)
    reach: datetime | None = None
    for p in sorted(periods, key=lambda p: p.starts_at):
        if reach is None or p.starts_at >= reach:
            total += p.length
            reach = p.ends_at
        elif p.ends_at > reach:
            total += p.ends_at - reach
            reach = p.ends_at
    return total


def stacked_start(periods: Sequence[Period], from_: datetime) -> datetime:
    """`from_`, or the end of the current cover when that is later: new cover never overlaps."""
    end = coverage_end(periods)
    return from_ if end is None or end <= from_ else end


def upgrade_period(
    plan: MaintenancePlan, periods: Sequence[Period], bought_at: datetime
) -> Period | None:
    """Cover a full-price major upgrade bought at `bought_at` comes with (seed 000: 12 months).

    It starts at the purchase, or after the current cover if that still runs, and lasts
    `plan.upgrade_included_months`; None when the plan includes none.
    """
    if not plan.upgrade_included_months:
        return None
    start = stacked_start(periods, bought_at)
    return Period(start, add_months(start, plan.upgrade_included_months), "upgrade")
