"""Values sealed for one other service: AES-256-GCM with a key the two share.

The portal seals each sign-in link for notification before it goes on a topic that internal
teams read; the email address is the associated data, so a sealed link opens only in the
email to that address.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12


class SealError(Exception):
    """The sealed value was altered, or sealed with another key."""


def new_seal_key() -> str:
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


def _cipher(key: str) -> AESGCM:
    raw = base64.b64decode(key)
    if len(raw) != 32:
        raise ValueError("a seal key is base64 of 32 bytes")
    return AESGCM(raw)


def seal(key: str, plaintext: str, associated: str) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _cipher(key).encrypt(nonce, plaintext.encode(), associated.lower().encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(key: str, sealed: str, associated: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(sealed)
        opened = _cipher(key).decrypt(
            raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], associated.lower().encode()
        )
    except (InvalidTag, ValueError, binascii.Error) as exc:
        raise SealError("the sealed value does not open with this key") from exc
    return opened.decode()
