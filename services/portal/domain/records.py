"""The portal's own rows as the handlers and pages use them. Pure data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .principals import Area, Role


@dataclass(frozen=True, slots=True)
class SignInToken:
    """A sign-in link as stored: only the SHA-256 of its token."""

    token_hash: str
    email: str
    area: str
    next_path: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class WebSession:
    """A browser session as stored: only the SHA-256 of the cookie's id."""

    id_hash: str
    area: Area
    role: Role
    email: str
    account_id: str | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Agent:
    """A desk account (agent or admin)."""

    email: str
    role: str
    has_password: bool
    created_at: datetime
    created_by: str
    disabled_at: datetime | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


@dataclass(frozen=True, slots=True)
class Member:
    """Someone an order or a license names for an account: they may sign in for it."""

    email: str
    account_id: str
    company: str
    reseller: bool
    seen_at: datetime
