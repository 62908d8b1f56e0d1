"""Who is signed in, and which areas and accounts they may use. Pure rules.

Two areas share one web foundation: the customer portal (`/`) and the support desk
(`/desk`). A session belongs to one area and carries one role; a customer session never
opens a desk page and an agent session never acts for a customer's account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Area = Literal["portal", "desk"]
Role = Literal["customer", "agent", "admin"]

AREA_ROLES: dict[Area, frozenset[Role]] = {
    "portal": frozenset({"customer"}),
    "desk": frozenset({"agent", "admin"}),
}

# What a customer's access token may do at the services, always for one account only.
CUSTOMER_SCOPES = frozenset(
    {
        "catalog:read",
        "licenses:read",
        "licenses:write",
        "coverage:read",
        "coverage:write",
        "tickets:read",
        "tickets:write",
    }
)


@dataclass(frozen=True)
class Membership:
    """An account an email address belongs to (from the directory)."""

    account_id: str
    company: str
    reseller: bool


@dataclass(frozen=True)
class WebPrincipal:
    session_id: str
    area: Area
    role: Role
    email: str
    account: Membership | None
    """The account acted for; None until a person tied to several picks one."""

    def may_enter(self, area: Area, roles: frozenset[Role] | None = None) -> bool:
        allowed = AREA_ROLES[area] if roles is None else roles & AREA_ROLES[area]
        return self.area == area and self.role in allowed

    @property
    def is_reseller(self) -> bool:
        return self.account is not None and self.account.reseller
