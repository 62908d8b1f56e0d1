"""Seed 001 as configuration: the `msp-backup` preset.

Per-instance subscriptions, monthly or annual; macOS and Linux need a Desktop or Server
license. Updates are assumed included while a subscription is active (the seed is silent).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.policy.coverage import initial_periods
from services.policy.eligibility import Release, check_eligibility
from services.policy.lifecycle import coverage_state
from services.policy.renewal import (
    MaintenanceRefused,
    RenewalOffer,
    association_period,
    quote_renewal,
)

from .support import at, license_of, preset, sku_plan

CATALOG = preset("msp-backup")
PRODUCT = CATALOG.product("remote-backup")
BOUGHT = at(2026, 11, 21)


def test_macos_and_linux_need_a_desktop_or_server_license() -> None:
    assert PRODUCT is not None
    for edition in PRODUCT.editions:
        unix = {"macos", "linux"} & set(edition.platforms)
        assert bool(unix) is (edition.code in {"desktop", "server"}), edition.code


def test_every_license_is_one_instance_paid_monthly_or_annually() -> None:
    licenses = [s for s in CATALOG.skus if s.kind == "license" and s.license_kind != "trial"]
    assert licenses
    terms: dict[str | None, set[int | None]] = {}
    for sku in licenses:
        assert (sku.license_kind, sku.seats, sku.one_license_per_unit) == ("subscription", 1, True)
        terms.setdefault(sku.edition, set()).add(sku.term_months)
    assert terms == {e: {1, 12} for e in ("desktop", "server", "virtual-machine", "database")}
    desk_year = CATALOG.sku("MB-DESK-Y")
    assert desk_year is not None and desk_year.list_price == Decimal("40.00")


def test_a_trial_license_is_sold_too() -> None:
    trial = CATALOG.sku("MB-SRV-TRIAL")
    assert trial is not None
    assert (trial.license_kind, trial.list_price, trial.plan) == ("trial", Decimal(0), None)


def test_subscription_is_covered_while_active_and_has_nothing_to_renew() -> None:
    plan = sku_plan(CATALOG, "MB-SRV-Y")
    lic = license_of(CATALOG, "MB-SRV-Y", BOUGHT)
    assert plan.covers_new_license(7) and initial_periods(plan, BOUGHT, 5) == []
    assert coverage_state(plan, lic, [], at(2031, 1, 1)).status == "perpetual"
    quote = quote_renewal(plan, lic, [], RenewalOffer(12, Decimal(120), "EUR"), at(2027, 1, 1))
    assert (quote.allowed, quote.code) == (False, "PERPETUAL_COVERAGE")
    release = Release.of("9.0", at(2029, 5, 1), "remote-backup")
    verdict = check_eligibility(lic, plan, [], release)
    assert (verdict.entitled, verdict.code) == (True, "PERPETUAL_COVERAGE")


def test_an_expired_subscription_ends_its_coverage() -> None:
    plan = sku_plan(CATALOG, "MB-DESK-M")
    lic = license_of(CATALOG, "MB-DESK-M", BOUGHT, status="expired")
    assert coverage_state(plan, lic, [], at(2027, 1, 1)).status == "ended"
    release = Release.of("8.0", at(2027, 1, 1), "remote-backup")
    assert check_eligibility(lic, plan, [], release).code == "LICENSE_NOT_ACTIVE"


def test_no_maintenance_code_can_be_attached_to_a_subscription() -> None:
    plan = sku_plan(CATALOG, "MB-VM-Y")
    with pytest.raises(MaintenanceRefused) as info:
        association_period(plan, [], BOUGHT, BOUGHT)
    assert info.value.code == "PERPETUAL_COVERAGE"
