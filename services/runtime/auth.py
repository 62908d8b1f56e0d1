"""API keys with scopes, and short-lived access tokens.

A key is a bearer token. `admin` grants everything; other scopes name what a key may do
(`orders:write`, `licenses:read`, ...). A key bound to an account sees only that account.

An access token is what the portal sends on behalf of the person signed in: Ed25519-signed
claims naming one account, its scopes and an expiry of minutes. Every service verifies it
with the portal's public key, so the portal cannot read another account's data by mistake:
the token it holds names one account, and the services refuse the rest.

A staff token is what the support desk sends for an agent or an admin: it names the person
and their role instead of an account, and carries only that role's scopes (an agent acts on
tickets only). The services record the person as who did it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import ApiError

ACCESS_TOKEN_PREFIX = "eat1."
# Scopes a token may never carry: they act beyond one account.
_UNBOUND_SCOPES = frozenset({"admin", "releases:write", "suppressions:write", "deliveries:read"})
# What a staff token may carry, by role.
STAFF_SCOPES: dict[str, frozenset[str]] = {
    "agent": frozenset({"tickets:read", "tickets:write"}),
    "admin": frozenset(
        {
            "tickets:read",
            "tickets:write",
            "catalog:read",
            "licenses:read",
            "licenses:status",
            "releases:write",
            "operations:read",
            "operations:write",
        }
    ),
}


@dataclass(frozen=True)
class Principal:
    name: str
    scopes: frozenset[str]
    account_id: str | None = None
    person: str | None = None
    """The person an access or staff token was minted for (verified), e.g. an agent."""

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes

    def may_see(self, account_id: str) -> bool:
        return self.account_id is None or self.account_id == account_id

    def may_see_any(self, account_ids: Iterable[str | None]) -> bool:
        """One of these accounts is the principal's (a reseller also sees what it sold)."""
        return self.account_id is None or self.account_id in set(account_ids)


class ApiKeys:
    """Looks keys up by their SHA-256 digest, so the table never holds a usable secret and
    the lookup does not leak timing on the secret's content."""

    def __init__(self, tokens: AccessTokenVerifier | None = None) -> None:
        self._by_digest: dict[str, Principal] = {}
        self._tokens = tokens

    def add(self, key: str, principal: Principal) -> None:
        self._by_digest[_digest(key)] = principal

    @classmethod
    def load(
        cls,
        admin_key: str | None,
        keys_file: Path | None,
        tokens: AccessTokenVerifier | None = None,
    ) -> ApiKeys:
        keys = cls(tokens)
        if admin_key:
            keys.add(admin_key, Principal("admin", frozenset({"admin"})))
        if keys_file is not None:
            for i, entry in enumerate(json.loads(keys_file.read_text())):
                keys.add(
                    entry["key"],
                    Principal(
                        entry.get("name", f"key-{i}"),
                        frozenset(entry.get("scopes", [])),
                        entry.get("account_id"),
                    ),
                )
        return keys

    def authenticate(self, authorization: str | None) -> Principal:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise ApiError(401, "UNAUTHENTICATED", "send `Authorization: Bearer <api key>`")
        secret = authorization[7:].strip()
        if secret.startswith(ACCESS_TOKEN_PREFIX) and self._tokens is not None:
            return self._tokens.verify(secret)
        principal = self._by_digest.get(_digest(secret))
        if principal is None:
            raise ApiError(401, "INVALID_API_KEY", "the API key is not known")
        return principal


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_of(private_key: str) -> str:
    """Base64 of the raw public key for a base64 raw Ed25519 private key."""
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_key))
    return base64.b64encode(key.public_key().public_bytes_raw()).decode()


class AccessTokenIssuer:
    """Mints access tokens (the portal holds the private key)."""

    def __init__(self, key_id: str, private_key: str, lifetime: timedelta) -> None:
        self.key_id = key_id
        self._key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_key))
        self.lifetime = lifetime

    def mint(self, subject: str, account_id: str, scopes: Iterable[str], now: datetime) -> str:
        granted = sorted(set(scopes))
        if not account_id or _UNBOUND_SCOPES.intersection(granted):
            raise ValueError("an access token names one account and only account scopes")
        claims = {
            "kid": self.key_id,
            "sub": subject,
            "acct": account_id,
            "scp": granted,
            "iat": int(now.timestamp()),
            "exp": int((now + self.lifetime).timestamp()),
        }
        return self._signed(claims)

    def mint_staff(self, subject: str, role: str, scopes: Iterable[str], now: datetime) -> str:
        """A token for a support agent or admin: no account, only the role's scopes."""
        granted = sorted(set(scopes))
        if role not in STAFF_SCOPES or not set(granted) <= STAFF_SCOPES[role]:
            raise ValueError(f"a {role} token carries only {sorted(STAFF_SCOPES.get(role, ()))}")
        claims = {
            "kid": self.key_id,
            "sub": subject,
            "role": role,
            "scp": granted,
            "iat": int(now.timestamp()),
            "exp": int((now + self.lifetime).timestamp()),
        }
        return self._signed(claims)

    def _signed(self, claims: dict[str, Any]) -> str:
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        signature = _b64url(self._key.sign(payload.encode()))
        return f"{ACCESS_TOKEN_PREFIX}{payload}.{signature}"


class AccessTokenVerifier:
    """Verifies access tokens against the public keys a service is configured with."""

    def __init__(self, public_keys: Mapping[str, str], now: Callable[[], datetime]) -> None:
        self._keys = {
            kid: Ed25519PublicKey.from_public_bytes(base64.b64decode(raw))
            for kid, raw in public_keys.items()
        }
        self._now = now

    def verify(self, token: str) -> Principal:
        claims = self._claims(token)
        if claims["exp"] <= self._now().timestamp():
            raise ApiError(401, "ACCESS_TOKEN_EXPIRED", "the access token has expired")
        scopes = frozenset(claims["scp"])
        if "role" in claims:
            return Principal(f"{claims['role']}:{claims['sub']}", scopes, None, claims["sub"])
        return Principal(f"token:{claims['sub']}", scopes, claims["acct"], claims["sub"])

    def _claims(self, token: str) -> dict[str, Any]:
        invalid = ApiError(401, "INVALID_ACCESS_TOKEN", "the access token is not valid")
        try:
            payload, signature = token[len(ACCESS_TOKEN_PREFIX) :].split(".")
            claims = json.loads(_unb64url(payload))
            key = self._keys[claims["kid"]]
            key.verify(_unb64url(signature), payload.encode())
        except (ValueError, KeyError, TypeError, binascii.Error, InvalidSignature):
            raise invalid from None
        common = (
            isinstance(claims.get("sub"), str)
            and claims["sub"]
            and isinstance(claims.get("exp"), int)
            and isinstance(claims.get("scp"), list)
            and all(isinstance(s, str) for s in claims["scp"])
        )
        if "role" in claims:  # a staff token: a person and a role, never an account
            role = claims["role"]
            well_formed = (
                common
                and "acct" not in claims
                and isinstance(role, str)
                and role in STAFF_SCOPES
                and set(claims["scp"]) <= STAFF_SCOPES[role]
            )
        else:
            well_formed = (
                common
                and isinstance(claims.get("acct"), str)
                and claims["acct"]
                and not _UNBOUND_SCOPES.intersection(claims["scp"])
            )
        if not well_formed:
            raise invalid
        return dict(claims)
