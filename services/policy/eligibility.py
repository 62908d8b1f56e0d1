"""Upgrade eligibility: may this license install this release? Pure rules.

The first rule that applies decides:

1. a release of another product, or a requested edition other than the licensed one →
   CROSS_GRADE, never entitled (seed 003: a different edition needs a new license);
2. the license (for an add-on: its base license) is suspended, expired, revoked or
   deactivated → LICENSE_NOT_ACTIVE;
3. an older major than the licensed one → EARLIER_MAJOR, entitled;
4. a release of the licensed major when the plan grants free updates within a major →
   FREE_UPDATE (seeds 000 and 004);
5. any release out on or before the purchase date → AVAILABLE_AT_PURCHASE (seed 002:
   "the version that was available at purchase date");
6. the plan covers the license while it is active → PERPETUAL_COVERAGE;
7. the release date falls inside a coverage period → COVERED (seed 002: "all maintenance
   releases or updates or upgrades for the duration of the support period");
8. a later major released within `upgrade_grace_days` after the purchase → UPGRADE_GRACE
   (seed 004: 30 days);
9. otherwise → NOT_COVERED: a renewal or an upgrade at full price is needed.

Coverage is judged at the release date, not at the time of asking: a lapsed license keeps
what was released while it was covered and nothing released during a gap. Only rules 6 and
7 depend on coverage, both monotonically: more coverage never withdraws an entitlement.

Add-on licenses follow their base license (seed 000: add-ons are upgraded with the base):
pass the base license as `base` together with the base's plan and periods; the add-on itself
is only used to check the product and edition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from services.policy.catalog import MaintenancePlan

from .coverage import LicenseFacts, Period, covering_period
from .releases import Release, Version, parse_version, release_kind
from .renewal import RenewalQuote

__all__ = [
    "NO_PLAN",
    "Eligibility",
    "EligibilityCode",
    "Release",
    "Version",
    "check_eligibility",
    "parse_version",
    "release_kind",
    "renewal_would_fix",
]

EligibilityCode = Literal[
    "CROSS_GRADE",
    "LICENSE_NOT_ACTIVE",
    "EARLIER_MAJOR",
    "FREE_UPDATE",
    "AVAILABLE_AT_PURCHASE",
    "PERPETUAL_COVERAGE",
    "COVERED",
    "UPGRADE_GRACE",
    "NOT_COVERED",
]

# A license sold without any plan: free maintenance releases, no coverage (seed 000:
# "If you do not have a BackupCare plan you will still be able to ... install maintenance
# releases").
NO_PLAN = MaintenancePlan(code="none", name="No maintenance plan")


@dataclass(frozen=True)
class Eligibility:
    entitled: bool
    code: EligibilityCode
    detail: str
    covering_period: Period | None = None

    @property
    def fixable_by_coverage(self) -> bool:
        """Refused only for lack of coverage: a renewal may fix it (see renewal_would_fix)."""
        return self.code == "NOT_COVERED"


def _day(release: Release) -> str:
    return release.released_at.date().isoformat()


def check_eligibility(
    license: LicenseFacts,
    plan: MaintenancePlan | None,
    periods: Sequence[Period],
    release: Release,
    *,
    base: LicenseFacts | None = None,
    edition: str | None = None,
) -> Eligibility:
    """Whether `license` may install `release`; see the module doc for the rules.

    `plan` None means the license was sold without a plan (`NO_PLAN`). For an add-on
    license, `base` is its base license and `plan`/`periods` are the base's. `edition`,
    when given, is the edition the customer wants to install.
    """
    # An add-on runs the versions of its base product (seed 000: upgraded with the base).
    products = {license.product} if base is None else {license.product, base.product}
    if release.product is not None and release.product not in products:
        return Eligibility(
            False,
            "CROSS_GRADE",
            f"This {license.product} license does not cover {release.product}; a different"
            " product needs a license of its own.",
        )
    if edition is not None and edition != license.edition:
        return Eligibility(
            False,
            "CROSS_GRADE",
            f"Changing from the {license.edition} edition to {edition} needs a new license;"
            " maintenance never covers a cross-grade.",
        )
    rules = base or license
    plan = plan or NO_PLAN
    version = release.version
    if not rules.is_active:
        whose = "its base license" if base is not None else "this license"
        detail = f"{version} cannot be installed: {whose} is {rules.status}."
        return Eligibility(False, "LICENSE_NOT_ACTIVE", detail)
    if version.major < rules.major_version:
        return Eligibility(
            True,
            "EARLIER_MAJOR",
            f"{version} is an earlier major than the licensed version {rules.major_version}.",
        )
    same_major = version.major == rules.major_version
    if same_major and plan.free_updates_within_major:
        return Eligibility(
            True,
            "FREE_UPDATE",
            f"{version} is a maintenance release of version {version.major}, free for every"
            " license of that version.",
        )
    if release.released_at <= rules.purchased_at:
        return Eligibility(
            True,
            "AVAILABLE_AT_PURCHASE",
            f"{version} was released on {_day(release)}, before the license was bought.",
        )
    if plan.perpetual_while_active:
        return Eligibility(
            True,
            "PERPETUAL_COVERAGE",
            f"{version} is included: maintenance runs for as long as the license is active.",
        )
    period = covering_period(periods, release.released_at)
    if period is not None:
        return Eligibility(
            True,
            "COVERED",
            f"{version} was released on {_day(release)}, during maintenance coverage"
            f" ({period.starts_at.date().isoformat()} to {period.ends_at.date().isoformat()}).",
            period,
        )
    if not same_major and release.released_at <= rules.purchased_at + timedelta(
        days=plan.upgrade_grace_days
    ):
        return Eligibility(
            True,
            "UPGRADE_GRACE",
            f"{version} was released on {_day(release)}, within {plan.upgrade_grace_days}"
            " days of the purchase: the upgrade is free.",
        )
    if same_major:
        detail = (
            f"{version} was released on {_day(release)}, after the purchase and outside"
            " maintenance coverage; without maintenance only the version available at the"
            " purchase date may be used."
        )
    else:
        detail = (
            f"Version {version.major} was released on {_day(release)}, outside maintenance"
            " coverage; it needs maintenance covering that date or an upgrade at the full"
            " price."
        )
    return Eligibility(False, "NOT_COVERED", detail)


def renewal_would_fix(eligibility: Eligibility, release: Release, quote: RenewalQuote) -> bool:
    """Whether buying `quote` would turn this refusal into an entitlement.

    True only for a NOT_COVERED refusal and an allowed renewal whose period contains the
    release date. A renewal never reaches back before its own start, so with the
    `previous_end_if_covered` and `purchase_date` bases it fixes releases dated from the
    renewal on (announced ones, or when cover is still running), while `previous_end`
    also buys back a lapse and the releases dated inside it.
    """
    period = quote.period
    return (
        not eligibility.entitled
        and eligibility.fixable_by_coverage
        and period is not None
        and period.contains(release.released_at)
    )
