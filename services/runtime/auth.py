"""API keys with scopes (DESIGN §6).

A key is a bearer token. `admin` grants everything; other scopes name what a key may do
(`orders:write`, `licenses:read`, ...). A key bound to an account sees only that account.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from .errors import ApiError


@dataclass(frozen=True)
class Principal:
    name: str
    scopes: frozenset[str]
    account_id: str | None = None

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes

    def may_see(self, account_id: str) -> bool:
        return self.account_id is None or self.account_id == account_id


class ApiKeys:
    """Looks keys up by their SHA-256 digest, so the table never holds a usable secret and
    the lookup does not leak timing on the secret's content."""

    def __init__(self) -> None:
        self._by_digest: dict[str, Principal] = {}

    def add(self, key: str, principal: Principal) -> None:
        self._by_digest[_digest(key)] = principal

    @classmethod
    def load(cls, admin_key: str | None, keys_file: Path | None) -> ApiKeys:
        keys = cls()
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
        principal = self._by_digest.get(_digest(authorization[7:].strip()))
        if principal is None:
            raise ApiError(401, "INVALID_API_KEY", "the API key is not known")
        return principal


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
