"""Sign-in links and their limits. Pure rules: the handlers store and send.

A link is a random token; only its SHA-256 is stored, it works once, for a short time.
Requests are limited per address and per client, and the answer never tells whether an
address is known.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

TOKEN_BYTES = 32
RATE_WINDOW = timedelta(minutes=15)

LinkState = Literal["valid", "expired", "used", "unknown"]
LINK_REFUSALS: dict[LinkState, tuple[str, str]] = {
    "expired": ("SIGN_IN_LINK_EXPIRED", "This sign-in link has expired."),
    "used": ("SIGN_IN_LINK_USED", "This sign-in link was already used."),
    "unknown": ("SIGN_IN_LINK_INVALID", "This sign-in link is not valid."),
}
"""The code and sentence of a link that signs nobody in, by its state."""


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def address_bucket(email: str) -> str:
    return "email:" + hashlib.sha256(normalise_email(email).encode()).hexdigest()


def client_bucket(client: str) -> str:
    return f"client:{client}"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def looks_like_email(email: str) -> bool:
    local, _, domain = normalise_email(email).partition("@")
    return bool(local) and "." in domain and " " not in email.strip() and len(email) <= 254


def link_state(expires_at: datetime | None, used_at: datetime | None, now: datetime) -> LinkState:
    if expires_at is None:
        return "unknown"
    if used_at is not None:
        return "used"
    if expires_at <= now:
        return "expired"
    return "valid"


@dataclass(frozen=True)
class RateLimit:
    limit: int
    window: timedelta = RATE_WINDOW

    def allows(self, attempts_in_window: int) -> bool:
        return attempts_in_window < self.limit

    def since(self, now: datetime) -> datetime:
        return now - self.window


def safe_next(path: str | None, default: str = "/") -> str:
    """Where to go after sign-in: a path on this site only (no `//host`, no scheme)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    if any(ord(c) < 32 for c in path):
        return default
    return path
