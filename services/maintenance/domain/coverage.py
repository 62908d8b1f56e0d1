"""Coverage periods of a license (DESIGN §4.3). Pure rules, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dateutil.relativedelta import relativedelta
from entitle_events.common import CoverageSource

from services.catalog import MaintenancePlan


@dataclass(frozen=True)
class Period:
    starts_at: datetime
    ends_at: datetime
    source: CoverageSource


def add_months(when: datetime, months: int) -> datetime:
    """Calendar months; the 31st plus one month is the last day of the next month."""
    return when + relativedelta(months=months)


def initial_periods(plan: MaintenancePlan, purchased_at: datetime) -> list[Period]:
    """Cover a new license starts with: complimentary months first, then included ones.

    A plan with neither (and not perpetual) starts no coverage: it is bought separately.
    """
    periods: list[Period] = []
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


def coverage_end(periods: list[Period]) -> datetime | None:
    return max((p.ends_at for p in periods), default=None)
