"""Renewals, maintenance-code associations and their prices. Pure rules.

Rules come from the license's plan; term, price and currency from the SKU being bought
(`RenewalOffer`). Checks, in order, each refusing with a stable code:

1. the license is suspended, expired, revoked or deactivated → LICENSE_NOT_ACTIVE;
2. the plan covers the license while it is active → PERPETUAL_COVERAGE (nothing to buy);
3. the license's major is below `min_major_version` → VERSION_TOO_OLD (seed 000: v3/v4
   must upgrade to v5 first);
4. the cover has lapsed:
   * a complimentary cover can be renewed until `renewal_window_months` after its end
     (seed 000: 3 months), later → RENEWAL_WINDOW_CLOSED;
   * a paid cover can be renewed at any time when `lapsed_paid_renewal_allowed`
     (seed 000's "expired 6 months ago" example); otherwise only within the same window
     (none set: only until it ends) → LAPSED_RENEWAL_NOT_ALLOWED;
5. a renewal that would not end after the current cover → ALREADY_COVERED (only possible
   with the `purchase_date` basis).

Where the renewal starts (the anchor `term_months` are counted from):

* `previous_end`: the end of the last cover, lapsed or not (a lapse is paid for);
  without any cover yet, the purchase.
* `previous_end_if_covered` (seed 000): the end of the cover while it still runs; once it
  has lapsed, the purchase ("expired 6 months ago, 12-month renewal bought today: ends 12
  months from today").
* `purchase_date` (seed 004: "runs for a year starting with the date of purchase"): the
  purchase. Cover still running is not added to: the new period starts where the current
  one ends and still ends `term` months after the purchase. A renewal bought during
  complimentary cover is the exception (seed 000): the free months are never lost, the
  term is counted from their end.

A renewal bought while covered (complimentary cover included) is an early renewal and gets
`early_renewal_discount_pct` off the list price (seed 000: 30 %). Money is Decimal,
rounded to cents half-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Final, Literal

from entitle_events.common import CoverageSource

from services.policy.catalog import Catalog, MaintenancePlan, Sku

from .coverage import (
    LicenseFacts,
    Period,
    add_months,
    coverage_end,
    latest_period,
    stacked_start,
)

RenewalCode = Literal[
    "OK",
    "LICENSE_NOT_ACTIVE",
    "PERPETUAL_COVERAGE",
    "VERSION_TOO_OLD",
    "RENEWAL_WINDOW_CLOSED",
    "LAPSED_RENEWAL_NOT_ALLOWED",
    "ALREADY_COVERED",
    "WRONG_PRODUCT",
    "WRONG_EDITION",
]

Refusal = tuple[RenewalCode, str] | None

CENT: Final = Decimal("0.01")
HUNDRED: Final = Decimal(100)


def money(amount: Decimal) -> Decimal:
    """Rounded to cents, half-up (2.345 → 2.35)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def discounted(list_price: Decimal, pct: Decimal) -> Decimal:
    """`list_price` less `pct` percent, in cents (59.00 less 30 % → 41.30)."""
    return money(list_price * (HUNDRED - pct) / HUNDRED)


def _day(when: datetime) -> str:
    return when.date().isoformat()


class MaintenanceRefused(ValueError):
    """A renewal or association the plan's rules refuse; `code` is stable, `reason` readable."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class RenewalOffer:
    """What is being bought: the months, the list price and its currency."""

    term_months: int
    list_price: Decimal
    currency: str
    sku: str | None = None

    def __post_init__(self) -> None:
        if self.term_months < 1:
            raise ValueError(f"a renewal buys at least one month, not {self.term_months}")
        if self.list_price < 0:
            raise ValueError(f"a list price cannot be negative: {self.list_price}")

    @classmethod
    def from_sku(cls, sku: Sku, plan: MaintenancePlan, currency: str) -> RenewalOffer:
        """A maintenance SKU's offer: its own term, else the plan's."""
        if sku.kind != "maintenance":
            raise ValueError(f"sku {sku.code} is a {sku.kind} SKU, not a maintenance one")
        return cls(sku.term_months or plan.term_months, money(sku.list_price), currency, sku.code)


@dataclass(frozen=True)
class RenewalQuote:
    """The answer to "what does renewing cost today, and when will it end?"."""

    allowed: bool
    code: RenewalCode
    reason: str
    list_price: Decimal
    price: Decimal | None
    discount_pct: Decimal
    currency: str
    term_months: int
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    sku: str | None = None
    source: CoverageSource = field(default="renewal")

    @property
    def early_renewal(self) -> bool:
        return self.allowed and self.discount_pct > 0

    @property
    def period(self) -> Period | None:
        """The period this renewal adds; None when refused."""
        if not self.allowed or self.starts_at is None or self.ends_at is None:
            return None
        return Period(self.starts_at, self.ends_at, self.source)


def renewal_window_end(plan: MaintenancePlan, periods: Sequence[Period]) -> datetime | None:
    """Last instant (included) at which the lapsed last cover may still be renewed.

    None: no limit (or nothing to renew from). A complimentary cover: its end plus
    `renewal_window_months`, when set. A paid cover: no limit when
    `lapsed_paid_renewal_allowed`, else its end plus the window (zero months if none).
    """
    if plan.perpetual_while_active:
        return None
    last = latest_period(periods)
    if last is None:
        return None
    if last.source == "complimentary":
        if plan.renewal_window_months is None:
            return None
        return add_months(last.ends_at, plan.renewal_window_months)
    if plan.lapsed_paid_renewal_allowed:
        return None
    return add_months(last.ends_at, plan.renewal_window_months or 0)


def _refusal(license: LicenseFacts, plan: MaintenancePlan) -> Refusal:
    """The first of checks 1 to 3 that fails (see the module doc), else None."""
    if not license.is_active:
        return (
            "LICENSE_NOT_ACTIVE",
            f"This license is {license.status}; its maintenance cannot be renewed.",
        )
    if plan.perpetual_while_active:
        return (
            "PERPETUAL_COVERAGE",
            "Maintenance is included for as long as this license stays active;"
            " there is nothing to renew.",
        )
    if license.major_version < plan.min_major_version:
        return (
            "VERSION_TOO_OLD",
            f"Maintenance is sold for version {plan.min_major_version} or later; upgrade this"
            f" version {license.major_version} license to version {plan.min_major_version}"
            " first.",
        )
    return None


def _lapse_refusal(plan: MaintenancePlan, periods: Sequence[Period], now: datetime) -> Refusal:
    last = latest_period(periods)
    if last is None or now < last.ends_at:
        return None
    deadline = renewal_window_end(plan, periods)
    if deadline is None or now <= deadline:
        return None
    if last.source == "complimentary":
        return (
            "RENEWAL_WINDOW_CLOSED",
            f"The complimentary maintenance ended on {_day(last.ends_at)} and could be renewed"
            f" until {_day(deadline)}; that renewal window has closed.",
        )
    if deadline > last.ends_at:
        return (
            "LAPSED_RENEWAL_NOT_ALLOWED",
            f"Maintenance ended on {_day(last.ends_at)} and could be renewed until"
            f" {_day(deadline)}; a lapsed maintenance plan cannot be renewed any more.",
        )
    return (
        "LAPSED_RENEWAL_NOT_ALLOWED",
        f"Maintenance ended on {_day(last.ends_at)}; this plan cannot be renewed once it"
        " has lapsed.",
    )


def _anchor(
    plan: MaintenancePlan, periods: Sequence[Period], now: datetime
) -> tuple[datetime, bool]:
    """The instant the term is counted from, and whether cover still runs at `now`."""
    end = coverage_end(periods)
    covered = end is not None and now < end
    if end is None:
        return now, False
    if plan.renewal_basis == "previous_end":
        return end, covered
    if plan.renewal_basis == "previous_end_if_covered":
        return (end if covered else now), covered
    # purchase_date: from today, except that unexpired complimentary months come first.
    still_to_run = [p for p in periods if p.ends_at > now]
    if still_to_run and all(p.source == "complimentary" for p in still_to_run):
        return end, covered
    return now, covered


def quote_renewal(
    plan: MaintenancePlan,
    license: LicenseFacts,
    periods: Sequence[Period],
    offer: RenewalOffer,
    now: datetime,
) -> RenewalQuote:
    """Whether `license` may renew with `offer` at `now`, at which price, for which period.

    Refusals carry the list price and no price or dates. See the module doc for the rules.
    """
    list_price = money(offer.list_price)

    def refused(code: RenewalCode, reason: str) -> RenewalQuote:
        return RenewalQuote(
            allowed=False,
            code=code,
            reason=reason,
            list_price=list_price,
            price=None,
            discount_pct=Decimal(0),
            currency=offer.currency,
            term_months=offer.term_months,
            sku=offer.sku,
        )

    refusal = _refusal(license, plan) or _lapse_refusal(plan, periods, now)
    if refusal is not None:
        return refused(*refusal)

    anchor, covered = _anchor(plan, periods, now)
    starts_at = stacked_start(periods, anchor) if covered else anchor
    ends_at = add_months(anchor, offer.term_months)
    if ends_at <= starts_at:
        return refused(
            "ALREADY_COVERED",
            f"Maintenance already runs until {_day(starts_at)}, beyond the"
            f" {offer.term_months} months this renewal would buy from today.",
        )
    pct = plan.early_renewal_discount_pct if covered else Decimal(0)
    price = discounted(list_price, pct)
    if covered:
        reason = f"Renewing now extends maintenance from {_day(starts_at)} to {_day(ends_at)}"
    elif ends_at > now:
        reason = f"Renewing now restores maintenance from {_day(starts_at)} to {_day(ends_at)}"
    else:  # previous_end basis, lapsed for longer than the term
        reason = (
            f"Renewing now pays for the lapsed maintenance from {_day(starts_at)} to"
            f" {_day(ends_at)}; further renewals are needed to be covered today"
        )
    if pct:
        reason += f", with a {pct.normalize():f} % early-renewal discount"
    return RenewalQuote(
        allowed=True,
        code="OK",
        reason=reason + ".",
        list_price=list_price,
        price=price,
        discount_pct=pct,
        currency=offer.currency,
        term_months=offer.term_months,
        starts_at=starts_at,
        ends_at=ends_at,
        sku=offer.sku,
    )


def maintains(product: str, edition: str | None, license: LicenseFacts) -> Refusal:
    """Whether maintenance sold for `product` (and `edition`, when it names one) maintains
    `license`; the refusal if not.

    Plans are not compared: a maintenance SKU or code extends whatever plan the license was
    sold with (seed 002: a pack bought separately for a license bought without one; seed
    003: a license sold with 3 years "extended for 1, 2 or 3 years"). An edition-specific
    pack only maintains that edition (seed 002: the 1-server pack and the site pack).
    """
    if product != license.product:
        return (
            "WRONG_PRODUCT",
            f"This maintenance is for {product}; it does not maintain a {license.product} license.",
        )
    if edition is not None and edition != license.edition:
        return (
            "WRONG_EDITION",
            f"This maintenance is for the {edition} edition; it does not maintain a"
            f" {license.edition} license.",
        )
    return None


def governing_plan(
    catalog: Catalog, license_plan: str | None, sku_plan: str | None
) -> MaintenancePlan | None:
    """The plan whose rules apply: the license's own, else (sold without one) the SKU's."""
    for code in (license_plan, sku_plan):
        plan = catalog.plan(code) if code else None
        if plan is not None:
            return plan
    return None


def quote_sku(
    catalog: Catalog,
    license_plan: str | None,
    license: LicenseFacts,
    periods: Sequence[Period],
    sku: Sku,
    now: datetime,
    currency: str | None = None,
) -> RenewalQuote:
    """Renewing `license` with the maintenance `sku` at `now`: the one answer that both
    `GET /renewal-quote` shows and an order line naming the license applies, so a quote and
    the order it quotes never disagree.

    The rules are those of the license's plan (`governing_plan`), term and price the SKU's;
    a SKU that does not maintain the license (`maintains`) is refused like any other rule.
    """
    plan = governing_plan(catalog, license_plan, sku.plan)
    if plan is None:
        raise ValueError(f"sku {sku.code} has no known plan")
    offer = RenewalOffer.from_sku(sku, plan, currency or catalog.currency)
    refusal = maintains(sku.product, sku.edition, license)
    if refusal is not None:
        code, reason = refusal
        return RenewalQuote(
            allowed=False,
            code=code,
            reason=reason,
            list_price=offer.list_price,
            price=None,
            discount_pct=Decimal(0),
            currency=offer.currency,
            term_months=offer.term_months,
            sku=offer.sku,
        )
    return quote_renewal(plan, license, periods, offer, now)


def apply_renewal(quote: RenewalQuote) -> Period:
    """The period an accepted renewal adds; MaintenanceRefused with the quote's code if not."""
    period = quote.period
    if period is None:
        raise MaintenanceRefused(quote.code, quote.reason)
    return period


def association_period(
    plan: MaintenancePlan,
    periods: Sequence[Period],
    code_bought_at: datetime,
    now: datetime,
    *,
    term_months: int | None = None,
    license: LicenseFacts | None = None,
) -> Period:
    """The period a separately bought maintenance code adds when associated at `now`.

    Seed 002: the period "begins on the day you purchase" the code and lasts exactly
    `term_months` (default: the plan's term, 12), whenever it is associated. If the license
    is already covered beyond that day, the code extends it instead ("otherwise you will
    increase the maintenance date on the same ... code"): the period starts at the end of
    the current cover. Associating codes therefore stacks additively: each one adds exactly
    its term to the covered time and never overlaps earlier periods.

    MaintenanceRefused: PERPETUAL_COVERAGE for a plan covering while active; with `license`
    given, also LICENSE_NOT_ACTIVE and VERSION_TOO_OLD. The lapse rules of renewals
    (window, lapsed paid cover) do not apply: a code is a purchase of its own, checked when
    it was sold. ValueError: a code bought after `now`, or a term below one month.
    """
    if code_bought_at > now:
        raise ValueError("a maintenance code cannot be bought after it is associated")
    months = plan.term_months if term_months is None else term_months
    if months < 1:
        raise ValueError(f"a maintenance code buys at least one month, not {months}")
    refusal: Refusal = None
    if license is not None:
        refusal = _refusal(license, plan)
    elif plan.perpetual_while_active:
        refusal = (
            "PERPETUAL_COVERAGE",
            "Maintenance is included for as long as this license stays active.",
        )
    if refusal is not None:
        raise MaintenanceRefused(*refusal)
    start = stacked_start(periods, code_bought_at)
    return Period(start, add_months(start, months), "association")
