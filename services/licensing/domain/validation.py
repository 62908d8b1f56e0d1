"""License validation: the answer an installed product gets.

Checks run in this order, and the first that fails gives the code:

1. `NOT_FOUND`      the key is malformed, its signature does not verify, or no license has it;
   `WRONG_PRODUCT`  the key is for another product than the one asking
   `EDITION_NOT_LICENSED` the installed edition is not the licensed one (a cross-grade needs
                    a new license)
2. `REVOKED`        the license was revoked (e.g. its order was refunded)
3. `DEACTIVATED`    an MSP or subscription license was deactivated: it can no longer be used
4. `SUSPENDED`      suspended until reinstated
5. `EXPIRED`        a subscription, trial or NFR license past its expiry
6. with a fingerprint: `NO_ACTIVATION` (this machine is not activated) or
   `TOO_MANY_ACTIVATIONS` (not activated, and every seat is taken)
7. with a version: `VERSION_INVALID` (not a version) or `VERSION_NOT_ENTITLED`
8. `VALID`

A perpetual license whose maintenance lapsed stays VALID for the versions it is entitled to.
Which versions those are is the shared eligibility rule of services.policy (one rule, the
same one maintenance answers /eligibility with).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from entitle_events.versions import Version

from services.policy.catalog import MaintenancePlan
from services.policy.coverage import LicenseFacts as MaintenanceLicense
from services.policy.coverage import Period
from services.policy.eligibility import Release, check_eligibility

from .keys import KeyClaims


@dataclass(frozen=True)
class CoverageFacts:
    periods: tuple[tuple[datetime, datetime], ...] = ()
    perpetual: bool = False


@dataclass(frozen=True)
class LicenseFacts:
    status: str
    expires_at: datetime | None
    max_activations: int | None
    activations: int
    fingerprint_activated: bool
    major_version: int
    purchased_at: datetime
    coverage: CoverageFacts = CoverageFacts()
    plan: MaintenancePlan | None = None


@dataclass(frozen=True)
class Verdict:
    code: str
    detail: str

    @property
    def valid(self) -> bool:
        return self.code == "VALID"


NOT_FOUND = Verdict("NOT_FOUND", "no license has this key")


def claims_mismatch(claims: KeyClaims, product: str | None, edition: str | None) -> Verdict | None:
    """What the signed key itself says, checked before any lookup."""
    if product is not None and product != claims.product:
        return Verdict("WRONG_PRODUCT", f"this key licenses {claims.product}, not {product}")
    if edition is not None and edition != claims.edition:
        return Verdict(
            "EDITION_NOT_LICENSED",
            f"this key licenses the {claims.edition} edition; changing edition needs a new license",
        )
    return None


def validate(
    facts: LicenseFacts | None,
    *,
    now: datetime,
    fingerprint: str | None = None,
    version: str | None = None,
    release_date: datetime | None = None,
) -> Verdict:
    """`release_date` is when `version` was published, if the vendor published it."""
    if facts is None:
        return NOT_FOUND
    if facts.status == "revoked":
        return Verdict("REVOKED", "the license was revoked")
    if facts.status == "deactivated":
        return Verdict("DEACTIVATED", "the license was deactivated and can no longer be used")
    if facts.status == "suspended":
        return Verdict("SUSPENDED", "the license is suspended")
    if facts.status == "expired" or (facts.expires_at is not None and facts.expires_at <= now):
        when = f" on {facts.expires_at:%Y-%m-%d}" if facts.expires_at else ""
        return Verdict("EXPIRED", f"the license expired{when}")
    if fingerprint is not None and not facts.fingerprint_activated:
        if facts.max_activations is not None and facts.activations >= facts.max_activations:
            return Verdict(
                "TOO_MANY_ACTIVATIONS",
                f"this machine is not activated and all {facts.max_activations} seats are used",
            )
        return Verdict("NO_ACTIVATION", "this machine is not activated for the license")
    if version is not None:
        try:
            wanted = Version.parse(version)
        except ValueError as exc:
            return Verdict("VERSION_INVALID", str(exc))
        verdict = version_entitlement(facts, wanted, release_date)
        if verdict is not None:
            return verdict
    return Verdict("VALID", "the license is valid")


def version_entitlement(
    facts: LicenseFacts, wanted: Version, release_date: datetime | None
) -> Verdict | None:
    """None when the license may run `wanted`, else the refusal.

    The rule is maintenance's upgrade eligibility, evaluated here on licensing's local
    projection of coverage. A version the vendor has not published is allowed up to the
    licensed major (nothing to judge it by) and refused beyond it.
    """
    if release_date is None:
        if wanted.major <= facts.major_version:
            return None
        return Verdict("VERSION_NOT_ENTITLED", f"{wanted} is not a released version")
    periods = [Period(start, end, "purchase") for start, end in facts.coverage.periods]
    plan = facts.plan
    if facts.coverage.perpetual and (plan is None or not plan.perpetual_while_active):
        periods.append(Period(facts.purchased_at, datetime.max.replace(tzinfo=UTC), "purchase"))
    eligibility = check_eligibility(
        MaintenanceLicense(purchased_at=facts.purchased_at, major_version=facts.major_version),
        plan,
        periods,
        Release(wanted, release_date),
    )
    if eligibility.entitled:
        return None
    return Verdict("VERSION_NOT_ENTITLED", eligibility.detail)
