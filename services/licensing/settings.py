from __future__ import annotations

import base64
import binascii

from pydantic import Field, SecretStr, field_validator

from services.runtime.settings import RuntimeSettings


class LicensingSettings(RuntimeSettings):
    service: str = "licensing"
    signing_key: SecretStr | None = Field(
        default=None,
        description="Ed25519 private key, base64 of its 32 raw bytes (`entitle keys generate`).",
    )
    signing_key_id: str = Field(default="k1", description="Id of the signing key, in every key.")
    retired_public_keys: dict[str, str] = Field(
        default_factory=dict,
        description='Keys that still verify after rotation, JSON {"kid": "base64 public key"}.',
    )
    license_file_ttl_days: int = Field(
        default=30, ge=1, description="How long a signed license file is valid offline."
    )

    @field_validator("signing_key")
    @classmethod
    def _signing_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _raw_key(value.get_secret_value(), "the signing key")
        return value

    @field_validator("retired_public_keys")
    @classmethod
    def _retired(cls, value: dict[str, str]) -> dict[str, str]:
        for kid, key in value.items():
            _raw_key(key, f"retired key {kid!r}")
        return value


def _raw_key(text: str, what: str) -> None:
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != 32:
        raise ValueError(f"{what} must be base64 of 32 raw bytes (`entitle keys generate`)")
