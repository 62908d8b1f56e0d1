"""What the read routes answer: a license's coverage, its renewal quote, whether it may
install a release, and the maintenance codes an account bought."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.policy.catalog import Catalog
from services.policy.coverage import Period
from services.policy.eligibility import (
    Eligibility,
    Release,
    Version,
    check_eligibility,
    parse_version,
    renewal_would_fix,
)
from services.policy.renewal import RenewalQuote
from services.runtime.auth import Principal
from services.runtime.errors import Refused

from ..adapters import codes, coverage, releases
from ..domain.records import Coverage, ListedCode
from .offers import plan_of, quote, renewal_sku


def may_see(principal: Principal, license: Coverage) -> bool:
    """An account-bound key sees its own licenses and, for a reseller, those it sold."""
    return principal.may_see_any((license.account_id, license.reseller_account_id))


def license_not_found() -> Refused:
    return Refused("LICENSE_NOT_FOUND", "maintenance knows no license with this key")


async def visible(
    pool: asyncpg.Pool, principal: Principal, key: str
) -> tuple[Coverage, list[Period]]:
    """The license with this key and its periods, if `principal` may see it."""
    found = await coverage.get_by_key(pool, key)
    if found is None or not may_see(principal, found[0]):
        raise license_not_found()
    return found


async def renewal_quote(
    pool: asyncpg.Pool,
    catalog: Catalog,
    principal: Principal,
    key: str,
    sku_code: str | None,
    now: datetime,
) -> RenewalQuote:
    """What renewing costs at `now` with `sku_code` (default: the SKU renewing the plan)."""
    license, periods = await visible(pool, principal, key)
    chosen = catalog.sku(sku_code) if sku_code else renewal_sku(catalog, license.plan)
    if chosen is None:
        raise Refused("SKU_NOT_FOUND", f"no maintenance SKU {sku_code or 'renews this plan'}")
    if chosen.kind != "maintenance":
        raise Refused("NOT_A_RENEWAL_SKU", f"{chosen.code} is not a maintenance SKU")
    return quote(catalog, license, periods, chosen, now)


@dataclass(frozen=True, slots=True)
class EligibilityAnswer:
    eligibility: Eligibility
    version: Version
    released_at: datetime
    renewal: RenewalQuote | None
    """The renewal that would make the release entitled, if any."""


async def eligibility(
    pool: asyncpg.Pool,
    catalog: Catalog,
    principal: Principal,
    key: str,
    version: str,
    now: datetime,
) -> EligibilityAnswer:
    """May the license install `version`? With the renewal that would fix a refusal."""
    license, periods = await visible(pool, principal, key)
    try:
        parsed = parse_version(version)
    except ValueError as exc:
        raise Refused("INVALID_VERSION", str(exc)) from exc
    product = catalog.release_product(license.product)  # an add-on's versions are its base's
    released_at = await releases.released_at(pool, product, parsed)
    if released_at is None:
        raise Refused("RELEASE_NOT_FOUND", f"{product} {parsed} has not been published")
    release = Release(parsed, released_at, product)
    # An add-on follows its base license: the base's status, major, plan and cover decide.
    rules, rules_periods = license, periods
    base = None
    if license.base_license_id is not None:
        found = await coverage.get_by_id(pool, license.base_license_id)
        if found is not None:
            rules, rules_periods = found
            base = rules.facts
    answer = check_eligibility(
        license.facts, plan_of(catalog, rules), rules_periods, release, base=base
    )
    renewal = None
    sku = renewal_sku(catalog, rules.plan)
    if answer.fixable_by_coverage and sku is not None:
        q = quote(catalog, rules, rules_periods, sku, now)
        if renewal_would_fix(answer, release, q):
            renewal = q
    return EligibilityAnswer(answer, parsed, released_at, renewal)


async def codes_of(
    pool: asyncpg.Pool,
    principal: Principal,
    account: str | None,
    unused: bool | None,
    limit: int,
    offset: int,
) -> list[ListedCode]:
    """Maintenance codes bought separately, newest first; an account-bound key sees its own
    account's codes."""
    if principal.account_id is not None:
        if account is not None and account != principal.account_id:
            raise Refused("FORBIDDEN", "this API key sees only its own account")
        account = principal.account_id
    return await codes.listed(pool, account, unused, limit, offset)
