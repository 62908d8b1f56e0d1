"""Offline verification of a signed license file (`GET /licenses/{key}/file`).

Embed this in an installed product: with Entitle's public key (from
`/.well-known/entitle-signing-key`) it checks the file without any network call. Needs the
`cryptography` package (`pip install "entitle-events[verify]"`).

A file is JSON: `{"format": "entitle-license-file/1", "kid", "alg": "EdDSA",
"payload": {...}, "signature": base64}`; the signature covers the payload serialised
canonically (sorted keys, no spaces, UTF-8).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

FORMAT = "entitle-license-file/1"


class LicenseFileError(Exception):
    """The file is malformed, forged, altered, signed by an unknown key, or out of date."""


def canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def verify_license_file(
    document: str | bytes | dict[str, Any], public_keys: dict[str, str], now: datetime
) -> dict[str, Any]:
    """Return the verified payload, or raise LicenseFileError.

    `public_keys` maps key ids to base64 Ed25519 public keys. The file is refused after its
    `valid_until` (the product should then fetch a fresh file).
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        doc = json.loads(document) if isinstance(document, str | bytes) else document
        if doc.get("format") != FORMAT or doc.get("alg") != "EdDSA":
            raise LicenseFileError("not an Entitle license file")
        payload = doc["payload"]
        signature = base64.b64decode(doc["signature"], validate=True)
        kid = doc["kid"]
        if not isinstance(kid, str) or not isinstance(payload, dict):
            raise LicenseFileError("not an Entitle license file")
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise LicenseFileError("not an Entitle license file") from exc
    if kid not in public_keys:
        raise LicenseFileError(f"signed by unknown key {kid!r}")
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_keys[kid]))
    try:
        public.verify(signature, canonical(payload))
    except InvalidSignature:
        raise LicenseFileError("the signature does not match: the file was altered") from None
    try:
        valid_until = datetime.fromisoformat(payload["valid_until"])
    except (KeyError, TypeError, ValueError) as exc:
        raise LicenseFileError("the file has no valid_until") from exc
    if now >= valid_until:
        raise LicenseFileError(f"the file expired at {valid_until.isoformat()}; fetch a new one")
    result: dict[str, Any] = payload
    return result
