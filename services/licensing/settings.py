from __future__ import annotations

from pydantic import Field, SecretStr

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
