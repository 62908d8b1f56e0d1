"""Support tier of a support request from entitlement facts (seeds 002 and 004).

`decide_support(facts, policy, kind, now)` answers which tier serves a request of a kind,
or why it is refused. Rules, in order:

1. A request about a discontinued product version is refused (VERSION_DISCONTINUED,
   seed 004: "we do not accept Support Requests for discontinued versions"), pointing to the
   documentation that stays available. Pre-sales requests concern no installed version and
   skip this check.
2. The tier, best first:
   * ``priority``: an active support/maintenance plan or an active subscription (a
     subscription includes the plan, seed 004);
   * ``per_incident``: an unused incident credit; consumed by this ticket. Only technical
     requests use a credit: restore needs a plan (seed 004: per-incident covers "all
     time-critical questions but restore support") and setup assistance is free;
   * ``partner``: a channel partner (post-sales support via the standard online channel);
   * ``trial``: within the trial days (15) of registration, counted as calendar days in the
     policy's time zone starting with the registration date (seed 004: "15 consecutive
     calendar days starting with the date of ... registration");
   * ``basic``: email-only support for supported products without a plan (seed 004);
   * ``forum``: instead of ``basic`` when the policy has no tickets without a plan
     (seed 002: "If you don't have a Maintenance pack you receive free support through the
     Forum"): refused with FORUM_ONLY and a pointer to the forum.
3. The request kind must be allowed:
   * ``technical``: every tier that takes tickets;
   * ``restore``: only with an active plan or subscription (RESTORE_NEEDS_PLAN);
   * ``setup``: only for products whose purchase includes setup assistance
     (SETUP_NOT_INCLUDED);
   * ``presales``: only for partners (PRESALES_PARTNERS_ONLY).

The decision's ``sla_key`` is the tier name, the key of `sla.default_sla_policy`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from entitle_events.ticketing import SupportTier, TicketKind

RefusalCode = Literal[
    "VERSION_DISCONTINUED",
    "FORUM_ONLY",
    "RESTORE_NEEDS_PLAN",
    "SETUP_NOT_INCLUDED",
    "PRESALES_PARTNERS_ONLY",
]
ALL_KINDS: frozenset[TicketKind] = frozenset({"technical", "restore", "setup", "presales"})


PlanKind = Literal["subscription", "maintenance", "support_plan"]


@dataclass(frozen=True)
class PlanBasis:
    """What gives the requester an active plan: a subscription license, a license under
    maintenance or a support plan bought as an order line; `ref` names it, `until` is its end
    (None: no end while the license stays active)."""

    kind: PlanKind
    ref: str
    until: datetime | None = None


@dataclass(frozen=True)
class EntitlementFacts:
    """What the ticketing projection knows about the requester at the time of the request.

    ``setup_assistance``: the product bought includes setup assistance (seed 004: server
    products). ``version_supported``: the version asked about is still supported (decided by
    the support lifecycle of the policy kernel). ``plan_basis``: what the active plan or
    subscription is (for the explanation of the tier).
    """

    has_active_plan: bool = False
    has_active_subscription: bool = False
    incident_credits: int = 0
    registered_at: datetime | None = None
    is_partner: bool = False
    setup_assistance: bool = False
    version_supported: bool = True
    plan_basis: PlanBasis | None = None


@dataclass(frozen=True)
class SupportPolicy:
    """The vendor's support policy (configuration)."""

    forum_only_without_plan: bool = False
    trial_days: int = 15
    timezone: str = "Europe/Berlin"
    forum_url: str = "https://forum.example.com/"
    docs_url: str = "https://docs.example.com/"
    plans_url: str = "https://shop.example.com/support-plans"


@dataclass(frozen=True)
class TierDecision:
    """The answer: a tier that takes the request, or a refusal with code, reason, pointer."""

    tier: SupportTier
    allowed_kinds: frozenset[TicketKind]
    accepted: bool = True
    consumes_credit: bool = False
    code: RefusalCode | None = None
    reason: str | None = None
    pointer: str | None = None

    @property
    def sla_key(self) -> SupportTier | None:
        """Key of the SLA targets (`sla.default_sla_policy`); None when refused."""
        return self.tier if self.accepted else None


def trial_ends_at(registered_at: datetime, policy: SupportPolicy) -> datetime:
    """Local midnight after the last trial day: day 1 is the registration date."""
    tz = ZoneInfo(policy.timezone)
    first_day = registered_at.astimezone(tz).date()
    return datetime.combine(first_day + timedelta(days=policy.trial_days), time(), tzinfo=tz)


def in_trial(facts: EntitlementFacts, policy: SupportPolicy, now: datetime) -> bool:
    if facts.registered_at is None:
        return False
    # In UTC: Python compares datetimes sharing a tzinfo by wall time.
    now = now.astimezone(UTC)
    ends = trial_ends_at(facts.registered_at, policy).astimezone(UTC)
    return facts.registered_at.astimezone(UTC) <= now < ends


def _tier(
    facts: EntitlementFacts, policy: SupportPolicy, kind: TicketKind, now: datetime
) -> tuple[SupportTier, bool]:
    """The best tier and whether it consumes an incident credit."""
    if facts.has_active_plan or facts.has_active_subscription:
        return "priority", False
    if facts.incident_credits > 0 and kind == "technical":
        return "per_incident", True
    if facts.is_partner:
        return "partner", False
    if in_trial(facts, policy, now):
        return "trial", False
    if policy.forum_only_without_plan:
        return "forum", False
    return "basic", False


def _allowed_kinds(facts: EntitlementFacts, tier: SupportTier) -> frozenset[TicketKind]:
    if tier == "forum":
        return frozenset()
    kinds: set[TicketKind] = {"technical"}
    if facts.has_active_plan or facts.has_active_subscription:
        kinds.add("restore")
    if facts.setup_assistance:
        kinds.add("setup")
    if facts.is_partner:
        kinds.add("presales")
    return frozenset(kinds)


def resolve_tier(facts: EntitlementFacts, policy: SupportPolicy, now: datetime) -> TierDecision:
    """The tier of a technical request: `decide_support` with kind ``technical``."""
    return decide_support(facts, policy, "technical", now)


def decide_support(
    facts: EntitlementFacts, policy: SupportPolicy, kind: TicketKind, now: datetime
) -> TierDecision:
    """The tier serving a request of `kind` at `now`, or the refusal (see the module doc)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be a timezone-aware datetime, got {now!r}")
    if facts.incident_credits < 0:
        raise ValueError("incident credits must not be negative")
    if facts.registered_at is not None and facts.registered_at.utcoffset() is None:
        raise ValueError("registered_at must be a timezone-aware datetime")
    tier, consumes = _tier(facts, policy, kind, now)
    allowed = _allowed_kinds(facts, tier)

    def refuse(code: RefusalCode, reason: str, pointer: str | None) -> TierDecision:
        return TierDecision(tier, allowed, False, False, code, reason, pointer)

    if kind != "presales" and not facts.version_supported:
        return refuse(
            "VERSION_DISCONTINUED",
            "Support for this version has ended; please upgrade to a supported version. "
            "Its documentation stays available.",
            policy.docs_url,
        )
    if tier == "forum":
        return refuse(
            "FORUM_ONLY",
            "Without an active support plan, support is given in the community forum.",
            policy.forum_url,
        )
    if kind not in allowed:
        if kind == "restore":
            return refuse(
                "RESTORE_NEEDS_PLAN",
                "Restore support is included with an active support plan.",
                policy.plans_url,
            )
        if kind == "setup":
            return refuse(
                "SETUP_NOT_INCLUDED",
                "Setup assistance is not included with this product.",
                policy.plans_url,
            )
        return refuse(
            "PRESALES_PARTNERS_ONLY",
            "Pre-sales support is available to partners through their sales representative.",
            None,
        )
    return TierDecision(tier, allowed, consumes_credit=consumes)


def _day(value: datetime, policy: SupportPolicy) -> str:
    return value.astimezone(ZoneInfo(policy.timezone)).date().isoformat()


def _short(ref: str) -> str:
    """A license key is long: its first characters name it in a sentence."""
    return ref if len(ref) <= 16 else ref[:12] + "…"


def _plan_words(basis: PlanBasis | None, policy: SupportPolicy) -> str:
    if basis is None:
        return "an active support plan"
    basis = PlanBasis(basis.kind, _short(basis.ref), basis.until)
    until = f"until {_day(basis.until, policy)}" if basis.until else "with no end date"
    if basis.kind == "subscription":
        return f"subscription license {basis.ref} is active {until}"
    if basis.kind == "maintenance":
        if basis.until is None:
            return f"license {basis.ref} is covered while it stays active"
        return f"license {basis.ref} is under maintenance {until}"
    return f"the support plan of order {basis.ref} runs {until}"


def explain(
    decision: TierDecision,
    facts: EntitlementFacts,
    policy: SupportPolicy,
    *,
    credit_used: bool = False,
) -> str:
    """Why a request has its tier (or is refused), in one sentence an agent can repeat."""
    if not decision.accepted:
        return f"Refused ({decision.code}): {decision.reason}"
    match decision.tier:
        case "priority":
            return f"Priority support: {_plan_words(facts.plan_basis, policy)}."
        case "per_incident":
            left = facts.incident_credits - (0 if credit_used else 1)
            return (
                "Per-incident support: this ticket uses one of the account's incident credits"
                f" ({max(left, 0)} left)."
            )
        case "partner":
            return "Partner support: the account is a channel partner."
        case "trial":
            assert facts.registered_at is not None
            ends = trial_ends_at(facts.registered_at, policy) - timedelta(days=1)
            return (
                f"Trial support: {policy.trial_days} days from the registration on"
                f" {_day(facts.registered_at, policy)}, until {_day(ends, policy)}."
            )
        case "basic":
            return (
                "Basic email-only support: no active maintenance, subscription, support plan,"
                " incident credit or trial."
            )
        case _:
            return "Forum only: without an active support plan, support is given in the forum."
