from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from services.runtime.settings import RuntimeSettings

from .domain.webhook_signature import decode_secret


class IngressSettings(RuntimeSettings):
    service: str = "ingress"
    webhook_secrets: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Webhook signing secrets (`whsec_...`), comma-separated; several during"
        " rotation.",
    )
    webhook_tolerance_seconds: int = Field(default=300, ge=1)
    webhook_max_body_bytes: int = Field(
        default=262_144, ge=1024, description="Largest order body; larger ones get 413."
    )
    publish_timeout_seconds: float = Field(
        default=5.0, gt=0, description="How long a webhook waits for the order to reach Kafka."
    )

    @property
    def body_limit(self) -> int:
        return self.webhook_max_body_bytes

    @field_validator("webhook_secrets", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [v for v in value.replace(",", " ").split() if v]
        return value

    @field_validator("webhook_secrets")
    @classmethod
    def _valid(cls, value: list[SecretStr]) -> list[SecretStr]:
        for secret in value:
            decode_secret(secret.get_secret_value())
        return value
