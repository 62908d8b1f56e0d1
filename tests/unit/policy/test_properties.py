"""Properties of the maintenance rules over random plans, histories and dates."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import event, given, settings
from hypothesis import strategies as st

from services.policy.catalog import MaintenancePlan
from services.policy.coverage import (
    LicenseFacts,
    Period,
    add_months,
    coverage_end,
    covered_time,
    initial_periods,
    upgrade_period,
)
from services.policy.eligibility import Release, Version, check_eligibility
from services.policy.renewal import (
    RenewalOffer,
    apply_renewal,
    association_period,
    quote_renewal,
)

FAST = settings(max_examples=80, deadline=None)

instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2080, 12, 31), timezones=st.just(UTC)
)
# Days between events; long enough to lapse, close windows and cross month ends.
gaps = st.integers(min_value=0, max_value=900).map(lambda d: timedelta(days=d, hours=d % 7))


@st.composite
def plans(draw: st.DrawFn) -> MaintenancePlan:
    return MaintenancePlan(
        code="p",
        name="Plan",
        term_months=draw(st.sampled_from([1, 6, 12, 24, 36])),
        complimentary_months=draw(st.sampled_from([0, 3])),
        included_months=draw(st.sampled_from([0, 12, 60])),
        renewal_basis=draw(
            st.sampled_from(["previous_end", "purchase_date", "previous_end_if_covered"])
        ),
        renewal_window_months=draw(st.sampled_from([None, 0, 3])),
        lapsed_paid_renewal_allowed=draw(st.booleans()),
        early_renewal_discount_pct=draw(st.sampled_from([Decimal(0), Decimal(30)])),
        free_updates_within_major=draw(st.booleans()),
        upgrade_grace_days=draw(st.sampled_from([0, 30])),
        upgrade_included_months=draw(st.sampled_from([0, 12])),
    )


@dataclass(frozen=True)
class History:
    plan: MaintenancePlan
    license: LicenseFacts
    periods: list[Period]
    now: datetime


@st.composite
def histories(draw: st.DrawFn, plan: MaintenancePlan | None = None) -> History:
    """A license's periods built by the rules themselves: purchase, then random renewals,
    associations and upgrades at increasing times."""
    plan = plan or draw(plans())
    bought = draw(instants)
    lic = LicenseFacts(purchased_at=bought, major_version=5)
    periods = initial_periods(plan, bought, 5)
    now = bought
    for op in draw(st.lists(st.sampled_from(["renew", "associate", "upgrade"]), max_size=5)):
        now += draw(gaps)
        if op == "renew":
            term = draw(st.sampled_from([1, 12, 24]))
            quote = quote_renewal(plan, lic, periods, RenewalOffer(term, Decimal(50), "EUR"), now)
            if quote.allowed:
                periods.append(apply_renewal(quote))
        elif op == "associate":
            bought_code = now - draw(gaps)
            periods.append(association_period(plan, periods, max(bought_code, bought), now))
        else:
            extra = upgrade_period(plan, periods, now)
            if extra is not None:
                periods.append(extra)
    now += draw(gaps)
    return History(plan, lic, periods, now)


def assert_disjoint(periods: list[Period]) -> None:
    ordered = sorted(periods, key=lambda p: p.starts_at)
    for p in ordered:
        assert p.starts_at < p.ends_at
    for before, after in itertools.pairwise(ordered):
        assert before.ends_at <= after.starts_at
    assert covered_time(periods) == sum((p.length for p in periods), timedelta(0))


@FAST
@given(history=histories(), term=st.sampled_from([1, 2, 12, 24, 36]))
def test_renewal_spans_its_term_after_the_current_cover(history: History, term: int) -> None:
    plan, periods, now = history.plan, history.periods, history.now
    offer = RenewalOffer(term, Decimal(80), "EUR")
    quote = quote_renewal(plan, history.license, periods, offer, now)
    event(f"{plan.renewal_basis}: {quote.code}")
    if not quote.allowed:
        assert quote.period is None and quote.price is None
        return
    assert quote.starts_at is not None and quote.ends_at is not None
    assert quote.ends_at > quote.starts_at
    end = coverage_end(periods)
    assert end is None or quote.starts_at >= end  # never overlaps what is there
    if plan.renewal_basis == "purchase_date":
        # counted from the purchase (or the end of free months): at most a full term
        assert add_months(now, term) <= quote.ends_at <= add_months(quote.starts_at, term)
    else:
        assert quote.ends_at == add_months(quote.starts_at, term)
    assert quote.price is not None and Decimal(0) <= quote.price <= quote.list_price
    assert quote.price == quote.price.quantize(Decimal("0.01"))
    assert_disjoint([*periods, apply_renewal(quote)])


@FAST
@given(
    history=histories(),
    codes=st.lists(st.tuples(gaps, gaps, st.sampled_from([1, 12, 24])), min_size=1, max_size=4),
)
def test_stacking_associations_is_additive(
    history: History, codes: list[tuple[timedelta, timedelta, int]]
) -> None:
    periods = list(history.periods)
    now = history.now
    for wait, age, term in codes:
        now += wait
        bought = max(now - age, history.license.purchased_at)
        before = covered_time(periods)
        added = association_period(history.plan, periods, bought, now, term_months=term)
        assert added.ends_at == add_months(added.starts_at, term)
        assert added.starts_at >= bought
        periods.append(added)
        assert covered_time(periods) == before + added.length
    assert_disjoint(periods)


@FAST
@given(history=histories())
def test_periods_produced_never_overlap(history: History) -> None:
    assert_disjoint(history.periods)


# A release near the coverage end (where extending coverage matters) or near the purchase
# (grace days, versions out at purchase), of the licensed major 5, an older or newer one.
releases = st.tuples(
    st.booleans(),
    st.sampled_from([4, 5, 6, 6, 7]).flatmap(
        lambda major: st.builds(Version, st.just(major), st.integers(0, 3))
    ),
    st.integers(-500, 500).map(lambda d: timedelta(days=d, hours=d % 5)),
)


@FAST
@given(
    history=histories(),
    release=releases,
    extension=st.integers(1, 1500).map(lambda d: timedelta(days=d)),
    stretch_last=st.booleans(),
)
def test_eligibility_is_monotonic_in_coverage(
    history: History,
    release: tuple[bool, Version, timedelta],
    extension: timedelta,
    stretch_last: bool,
) -> None:
    near_end, version, offset = release
    lic = history.license
    end = coverage_end(history.periods)
    anchor = end if near_end and end is not None else lic.purchased_at
    published = Release(version, anchor + offset)
    before = check_eligibility(lic, history.plan, history.periods, published)
    if end is None:
        more = [Period(lic.purchased_at, lic.purchased_at + extension, "purchase")]
    elif stretch_last:
        last = max(history.periods, key=lambda p: p.ends_at)
        stretched = Period(last.starts_at, last.ends_at + extension, last.source)
        more = [p for p in history.periods if p is not last] + [stretched]
    else:
        more = [*history.periods, Period(end, end + extension, "renewal")]
    after = check_eligibility(lic, history.plan, more, published)
    event(f"{before.code} -> {after.code}")
    if before.entitled:
        assert after.entitled, (before, after)
    if after.code == "COVERED":
        assert after.covering_period is not None
        assert after.covering_period.contains(published.released_at)
