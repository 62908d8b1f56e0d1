"""Signed license keys (Ed25519).

A key is `<payload>.<signature>`, both base64url: the payload names the license, product,
edition and signing key id. A forged or altered key fails the signature check before any
database lookup; keys signed by a retired key still verify while its public key is listed.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


class InvalidKey(Exception):
    """The key is malformed, or its signature does not verify."""


@dataclass(frozen=True)
class KeyClaims:
    license_id: str
    product: str
    edition: str
    issued_at: datetime
    key_id: str


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """Strict inverse of `b64url`: padding, stray characters or unused low bits set in the
    last character are rejected, so a key has exactly one valid spelling."""
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url(data) != text:
        raise binascii.Error("not canonical unpadded base64url")
    return data


def generate_private_key() -> str:
    """A new signing key as base64 of its 32 raw bytes (what ENTITLE_SIGNING_KEY holds)."""
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    raw = Ed25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )
    return base64.b64encode(raw).decode()


VERIFIED_KEYS_KEPT = 100_000


class KeyRing:
    """The current signing key plus the public keys that still verify."""

    def __init__(
        self, private_key_b64: str, key_id: str, retired: dict[str, str] | None = None
    ) -> None:
        self._private = Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_key_b64))
        self.key_id = key_id
        self._verified: dict[str, KeyClaims] = {}
        self._public: dict[str, Ed25519PublicKey] = {key_id: self._private.public_key()}
        for kid, public_b64 in (retired or {}).items():
            self._public[kid] = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64))

    def public_keys(self) -> dict[str, str]:
        return {
            kid: base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
            for kid, key in self._public.items()
        }

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    def verify(self, key_id: str, data: bytes, signature: bytes) -> None:
        public = self._public.get(key_id)
        if public is None:
            raise InvalidKey(f"unknown signing key {key_id!r}")
        try:
            public.verify(signature, data)
        except InvalidSignature:
            raise InvalidKey("signature does not verify") from None

    def issue(self, license_id: str, product: str, edition: str, issued_at: datetime) -> str:
        payload = json.dumps(
            {
                "l": license_id,
                "p": product,
                "e": edition,
                "t": int(issued_at.timestamp()),
                "k": self.key_id,
            },
            separators=(",", ":"),
        ).encode()
        return f"{b64url(payload)}.{b64url(self.sign(payload))}"

    def verify_key(self, key: str) -> KeyClaims:
        """The claims of a genuine key. Keys that verified are remembered (a bounded number):
        a key never changes, and checking its signature is the dearest step of validation."""
        claims = self._verified.get(key)
        if claims is None:
            claims = self._verify_key(key)
            if len(self._verified) >= VERIFIED_KEYS_KEPT:
                self._verified.pop(next(iter(self._verified)))  # the oldest
            self._verified[key] = claims
        return claims

    def _verify_key(self, key: str) -> KeyClaims:
        payload_text, dot, signature_text = key.strip().partition(".")
        if not dot or not payload_text or not signature_text or len(key) > 1000:
            raise InvalidKey("not a license key")
        try:
            payload = unb64url(payload_text)
            signature = unb64url(signature_text)
            claims = json.loads(payload)
            key_id = str(claims["k"])
        except (binascii.Error, ValueError, KeyError, TypeError):
            raise InvalidKey("not a license key") from None
        self.verify(key_id, payload, signature)
        try:
            return KeyClaims(
                license_id=str(claims["l"]),
                product=str(claims["p"]),
                edition=str(claims["e"]),
                issued_at=datetime.fromtimestamp(int(claims["t"]), UTC),
                key_id=key_id,
            )
        except (KeyError, TypeError, ValueError):
            raise InvalidKey("signed payload lacks a field") from None
