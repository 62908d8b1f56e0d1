"""The pure halves of rules answered by two services agree, on random histories of
renewals, associations and refunds on every preset (hypothesis):

* the cover a new license starts with: maintenance's `initial_periods` and licensing's
  `coverage_expected` (`MaintenancePlan.covers_new_license`);
* eligibility vs validation: maintenance's `check_eligibility` and licensing's
  `version_entitlement` on the same periods.

The same pairs through the services themselves (their handlers, HTTP routes and databases,
with quote vs order and coverage vs projection) are in
`tests/integration/policy/test_two_paths_through_the_services.py`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.licensing.domain.validation import CoverageFacts, version_entitlement
from services.licensing.domain.validation import LicenseFacts as LicensingFacts
from services.policy.catalog import Catalog, load_catalog
from services.policy.coverage import LicenseFacts, Period, initial_periods
from services.policy.eligibility import Release, check_eligibility
from services.policy.releases import Version
from services.policy.renewal import (
    MaintenanceRefused,
    apply_renewal,
    association_period,
    governing_plan,
    quote_sku,
)
from tests.unit.policy.support import PRESETS

CATALOGS = [load_catalog(p) for p in sorted(PRESETS.glob("*.toml"))]
START = datetime(2024, 1, 1, 12, tzinfo=UTC)

# One step of a license's history: (kind, days after the previous step, a choice index).
steps = st.lists(
    st.tuples(
        st.sampled_from(["renew", "associate", "refund"]),
        st.integers(0, 500),
        st.integers(0, 50),
    ),
    max_size=8,
)


@st.composite
def licenses(draw: st.DrawFn) -> tuple[Catalog, LicenseFacts, str | None]:
    catalog = draw(st.sampled_from(CATALOGS))
    skus = [s for s in catalog.skus if s.kind == "license"]
    sku = draw(st.sampled_from(skus))
    product = catalog.product(sku.product)
    assert product is not None and sku.edition is not None
    major = draw(st.integers(max(product.current_major - 2, 0), product.current_major))
    facts = LicenseFacts(
        purchased_at=START, major_version=major, product=sku.product, edition=sku.edition
    )
    return catalog, facts, sku.plan


def _history(
    catalog: Catalog, lic: LicenseFacts, plan_code: str | None, history: list[tuple[str, int, int]]
) -> list[Period]:
    """Maintenance's periods after `history`, applied with the policy kernel's rules."""
    plan = catalog.plan(plan_code) if plan_code else None
    periods = initial_periods(plan, lic.purchased_at, lic.major_version) if plan else []
    bought: list[Period] = []  # periods an order bought, which a refund can take back
    maintenance_skus = [s for s in catalog.skus if s.kind == "maintenance"]
    now = lic.purchased_at
    for kind, days, choice in history:
        now += timedelta(days=days)
        if kind == "refund":
            if bought:
                periods.remove(bought.pop(choice % len(bought)))
            continue
        if not maintenance_skus:
            continue
        sku = maintenance_skus[choice % len(maintenance_skus)]
        if kind == "renew":
            for _ in range(1 + choice % 3):  # unit after unit, as an order applies them
                q = quote_sku(catalog, plan_code, lic, periods, sku, now)
                if not q.allowed:
                    break
                period = apply_renewal(q)
                periods.append(period)
                bought.append(period)
        else:
            rules = governing_plan(catalog, plan_code, sku.plan)
            if rules is None or sku.product != lic.product:
                continue
            try:
                period = association_period(
                    rules, periods, now - timedelta(days=choice), now, license=lic
                )
            except MaintenanceRefused:
                continue
            periods.append(period)
            bought.append(period)
    return periods


@settings(max_examples=300, deadline=None)
@given(licenses(), steps, st.integers(0, 3000), st.integers(-1, 2), st.integers(0, 3))
def test_both_paths_of_every_doubly_answered_rule_agree(
    license: tuple[Catalog, LicenseFacts, str | None],
    history: list[tuple[str, int, int]],
    released_after: int,
    major_step: int,
    minor: int,
) -> None:
    catalog, lic, plan_code = license
    plan = catalog.plan(plan_code) if plan_code else None
    if plan is not None:
        started = bool(initial_periods(plan, lic.purchased_at, lic.major_version))
        assert plan.covers_new_license(lic.major_version) == (
            started or plan.perpetual_while_active
        )

    periods = _history(catalog, lic, plan_code, history)

    version = Version(max(lic.major_version + major_step, 0), minor, 0)
    released_at = START + timedelta(days=released_after)
    maintenance = check_eligibility(lic, plan, periods, Release(version, released_at))
    licensing = version_entitlement(
        LicensingFacts(
            status="active",
            expires_at=None,
            max_activations=1,
            activations=0,
            fingerprint_activated=False,
            major_version=lic.major_version,
            purchased_at=lic.purchased_at,
            coverage=CoverageFacts(
                periods=tuple(sorted((p.starts_at, p.ends_at) for p in periods)),
                perpetual=plan is not None and plan.perpetual_while_active,
            ),
            plan=plan,
        ),
        version,
        released_at,
    )
    assert maintenance.entitled == (licensing is None)
