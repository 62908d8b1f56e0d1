"""Standard Webhooks signatures: HMAC-SHA256 over `{id}.{timestamp}.{body}`.

Hand-written rather than `standardwebhooks.Webhook.verify`: that reads the wall clock
itself, accepts one secret only, and raises bare ValueError on a malformed signature list;
ingress needs an injected clock, several secrets during rotation and a stable error code
for each failure. The tests check interoperability with that library's signer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime

SECRET_PREFIX = "whsec_"


class SignatureError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def decode_secret(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("a webhook secret is `whsec_` followed by base64") from exc
    if not key:
        raise ValueError("a webhook secret may not be empty")
    return key


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64>` signature of one message."""
    mac = hmac.new(
        decode_secret(secret), _signed_content(webhook_id, timestamp, body), hashlib.sha256
    )
    return "v1," + base64.b64encode(mac.digest()).decode()


def verify(
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    tolerance_seconds: int = 300,
) -> str:
    """Check the message; return its webhook id or raise SignatureError."""
    webhook_id = headers.get("webhook-id", "").strip()
    timestamp_text = headers.get("webhook-timestamp", "").strip()
    signatures = headers.get("webhook-signature", "").strip()
    if not (webhook_id and timestamp_text and signatures):
        raise SignatureError(
            "WEBHOOK_HEADERS_MISSING",
            "webhook-id, webhook-timestamp and webhook-signature headers are required",
        )
    if len(webhook_id) > 200:
        raise SignatureError("WEBHOOK_ID_INVALID", "webhook-id is longer than 200 characters")
    # Plain ASCII digits of a sane length: `int()` also takes signs, underscores and other
    # scripts' digits, and a number too large for a float cannot be compared with the clock.
    if not (timestamp_text.isascii() and timestamp_text.isdigit() and len(timestamp_text) <= 12):
        raise SignatureError(
            "WEBHOOK_TIMESTAMP_INVALID", "webhook-timestamp must be integer Unix seconds"
        )
    timestamp = int(timestamp_text)
    drift = now.timestamp() - timestamp
    if abs(drift) > tolerance_seconds:
        raise SignatureError(
            "WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE",
            f"webhook-timestamp is {abs(drift):.0f}s {'old' if drift > 0 else 'in the future'};"
            f" at most {tolerance_seconds}s are accepted",
        )
    content = _signed_content(webhook_id, timestamp_text, body)
    # Compared as base64 text, as the reference library does: decoding first would accept
    # several spellings of one signature (base64 decoders ignore the bits before the padding).
    expected = [
        base64.b64encode(hmac.new(decode_secret(s), content, hashlib.sha256).digest())
        for s in secrets
    ]
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version != "v1" or not value:
            continue
        given = value.encode()
        # Compare against every secret, without stopping early, in constant time each.
        if any([hmac.compare_digest(given, e) for e in expected]):
            return webhook_id
    raise SignatureError("WEBHOOK_SIGNATURE_INVALID", "no webhook-signature matches the body")


def _signed_content(webhook_id: str, timestamp: int | str, body: bytes) -> bytes:
    return f"{webhook_id}.{timestamp}.".encode() + body
