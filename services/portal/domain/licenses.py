"""The license list as seed 001's Management Console shows it: grouped by type (product,
edition, kind), filtered, searched. Pure functions over the licensing API's answers."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from services.policy.catalog import Catalog

from .answers import License

EMPTY_TYPE = "You have not purchased licenses of this type"
KIND_NAMES = {
    "perpetual": "Perpetual",
    "subscription": "Subscription",
    "msp": "MSP",
    "trial": "Trial",
    "nfr": "Not for resale",
}
SOURCE_NAMES = {
    "complimentary": "Complimentary",
    "included": "Included with the license",
    "purchase": "Purchased",
    "renewal": "Renewal",
    "association": "Maintenance code",
    "upgrade": "Upgrade",
}


@dataclass(frozen=True)
class Filters:
    company: str | None = None
    kind: str | None = None  # commercial | trial
    state: str | None = None  # valid | expired
    usage: str | None = None  # used | unused
    auto_renew: bool = False
    q: str = ""

    def api_params(self) -> dict[str, str | None]:
        return {
            "account": self.company,
            "kind": self.kind,
            "state": self.state,
            "usage": self.usage,
            "auto_renew": "true" if self.auto_renew else None,
        }

    @property
    def active(self) -> bool:
        return any((self.company, self.kind, self.state, self.usage, self.auto_renew, self.q))


def parse_filters(params: dict[str, str]) -> Filters:
    def pick(name: str, allowed: tuple[str, ...]) -> str | None:
        value = params.get(name)
        return value if value in allowed else None

    return Filters(
        company=(params.get("company") or None),
        kind=pick("kind", ("commercial", "trial")),
        state=pick("state", ("valid", "expired")),
        usage=pick("usage", ("used", "unused")),
        auto_renew=params.get("auto_renew") == "only",
        q=params.get("q", "").strip()[:200],
    )


@dataclass(frozen=True)
class LicenseType:
    product: str
    edition: str
    kind: str
    name: str
    sku: str | None


@dataclass
class TypeGroup:
    type: LicenseType
    licenses: list[License] = field(default_factory=list)
    purchased: bool = False

    @property
    def notice(self) -> str | None:
        if not self.purchased:
            return EMPTY_TYPE
        if not self.licenses:
            return "No license of this type matches the filters."
        return None


def catalog_types(catalog: Catalog) -> list[LicenseType]:
    found: dict[tuple[str, str, str], LicenseType] = {}
    for sku in catalog.skus:
        if sku.kind != "license" or sku.edition is None or sku.license_kind is None:
            continue
        key = (sku.product, sku.edition, sku.license_kind)
        if key not in found:
            found[key] = LicenseType(*key, name=type_name(catalog, *key), sku=sku.code)
    return list(found.values())


def type_name(catalog: Catalog, product: str, edition: str, kind: str) -> str:
    p = catalog.product(product)
    e = p.edition(edition) if p else None
    return f"{p.name if p else product} {e.name if e else edition} · {KIND_NAMES.get(kind, kind)}"


def matches(license: License, q: str) -> bool:
    if not q:
        return True
    needle = q.lower()
    haystack = [
        license.key,
        license.company,
        license.product,
        license.edition,
        license.order_id,
        *(a.hostname for a in license.activations),
    ]
    return any(needle in h.lower() for h in haystack)


def group(catalog: Catalog, everything: list[License], shown: list[License]) -> list[TypeGroup]:
    """Every type the catalog sells, then any other type the account holds."""
    groups: dict[tuple[str, str, str], TypeGroup] = {
        (t.product, t.edition, t.kind): TypeGroup(t) for t in catalog_types(catalog)
    }
    for lic in everything:
        key = (lic.product, lic.edition, lic.kind)
        if key not in groups:
            groups[key] = TypeGroup(LicenseType(*key, name=type_name(catalog, *key), sku=lic.sku))
        groups[key].purchased = True
    for lic in shown:
        groups[(lic.product, lic.edition, lic.kind)].licenses.append(lic)
    return list(groups.values())


def license_type_name(catalog: Catalog, license: License) -> str:
    return type_name(catalog, license.product, license.edition, license.kind)


def companies(licenses: list[License]) -> list[tuple[str, str]]:
    """(account id, company) of the licenses, for the Company filter."""
    seen = {lic.account_id: lic.company for lic in licenses}
    return sorted(seen.items(), key=lambda item: item[1].lower())


def new_account_id(company: str, email: str) -> str:
    """An account id for a company a reseller types in: readable, and distinct for another
    contact (two customers named alike never share an account)."""
    slug = re.sub(r"[^a-z0-9]+", "-", company.lower()).strip("-")[:40] or "company"
    return f"{slug}-{hashlib.sha256(email.strip().lower().encode()).hexdigest()[:6]}"


def coverage_status_text(status: str) -> str:
    return {
        "active": "Covered",
        "in_renewal_window": "Lapsed, renewal still possible",
        "lapsed": "Lapsed",
        "perpetual": "Covered while the license is active",
        "ended": "Ended",
        "none": "No maintenance",
    }.get(status, status)
