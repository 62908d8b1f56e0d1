"""Support lifecycle of major versions, and a license's coverage status at a date.

Seed 004: "supports each major version of our products from the time it is released until
18 months after the next major version becomes available" (the product's
`support_months_after_next_major`). The next major "becomes available" with the earliest
release of any later major (normally the `.0` of the major right above).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from services.policy.catalog import MaintenancePlan

from .coverage import ENDED_STATUSES, LicenseFacts, Period, add_months, coverage_end, is_covered
from .releases import Release
from .renewal import renewal_window_end

__all__ = [
    "CoverageState",
    "CoverageStatus",
    "coverage_state",
    "is_supported",
    "notice_at",
    "renewal_window_end",
    "support_ends_at",
    "supported_majors",
]

DEFAULT_SUPPORT_MONTHS = 18

CoverageStatus = Literal["none", "active", "in_renewal_window", "lapsed", "perpetual", "ended"]


def support_ends_at(
    major: int, releases: Sequence[Release], months_after_next_major: int = DEFAULT_SUPPORT_MONTHS
) -> datetime | None:
    """End (excluded) of `major`'s support: N months after the next major's first release.

    None while no later major has been released: supported for now without an end date.
    """
    available = min((r.released_at for r in releases if r.major > major), default=None)
    return None if available is None else add_months(available, months_after_next_major)


def is_supported(
    major: int,
    releases: Sequence[Release],
    at: datetime,
    months_after_next_major: int = DEFAULT_SUPPORT_MONTHS,
) -> bool:
    """Whether support requests for `major` are accepted at `at`: not discontinued.

    Only a later major's release discontinues one, `months_after_next_major` after it: a
    major whose own `.0` was never published through Entitle (a license bought before the
    vendor used it, say) is supported like any other until then.
    """
    ends = support_ends_at(major, releases, months_after_next_major)
    return ends is None or at < ends


def supported_majors(
    releases: Sequence[Release],
    at: datetime,
    months_after_next_major: int = DEFAULT_SUPPORT_MONTHS,
) -> list[int]:
    """The majors supported at `at`, ascending."""
    majors = sorted({r.major for r in releases})
    return [m for m in majors if is_supported(m, releases, at, months_after_next_major)]


def notice_at(plan: MaintenancePlan, ends_at: datetime) -> datetime:
    """When the renewal notice is due: `notice_months` calendar months before the cover ends
    (one month before 15 January is 15 December), else `notice_days` days before."""
    if plan.notice_months is not None:
        return add_months(ends_at, -plan.notice_months)
    return ends_at - timedelta(days=plan.notice_days)


@dataclass(frozen=True)
class CoverageState:
    """A license's coverage at one instant.

    * `none`: never covered; `perpetual`: covered while the license is active;
    * `active`: a period covers the instant;
    * `in_renewal_window`: lapsed, and renewal accepted until `renew_until`;
    * `lapsed`: not covered (renewable any time when `renew_until` is None and the plan
      accepts lapsed renewals, else its window has closed);
    * `ended`: the license is expired, revoked or deactivated.
    """

    status: CoverageStatus
    ends_at: datetime | None
    notice_at: datetime | None
    renew_until: datetime | None


def coverage_state(
    plan: MaintenancePlan | None,
    license: LicenseFacts,
    periods: Sequence[Period],
    at: datetime,
) -> CoverageState:
    """The coverage status at `at`, the cover's end, the notice due date and renewal deadline.

    `ends_at` is the end of the last period (None while perpetual or never covered);
    `renew_until` the last instant a lapsed cover may be renewed, None for no limit.
    A suspended license keeps its status here (suspension is temporary); renewals and
    upgrades are still refused while it lasts.
    """
    perpetual = plan is not None and plan.perpetual_while_active
    end = None if perpetual else coverage_end(periods)
    notice = notice_at(plan, end) if plan is not None and end is not None else None
    deadline = renewal_window_end(plan, periods) if plan is not None else None
    if license.status in ENDED_STATUSES:
        return CoverageState("ended", end, None, None)
    if perpetual:
        return CoverageState("perpetual", None, None, None)
    if end is None:
        return CoverageState("none", None, None, None)
    if is_covered(periods, at):
        return CoverageState("active", end, notice, deadline)
    if at >= end and deadline is not None and at <= deadline:
        return CoverageState("in_renewal_window", end, notice, deadline)
    return CoverageState("lapsed", end, notice, deadline)
