"""Settings every service shares; each service extends them with its own (ENTITLE_ prefix)."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "ENTITLE_"
SECRETS_DIR_VARIABLE = "ENTITLE_SECRETS_DIR"

DEFAULT_PORTS = {
    "ingress": 8100,
    "licensing": 8101,
    "maintenance": 8102,
    "ticketing": 8103,
    "notification": 8104,
    "portal": 8105,
}


# Settings every copy of a service must agree on (a link signed or built by one copy is
# opened through another): in production each must be set explicitly, never defaulted.
SHARED_ACROSS_COPIES = ("unsubscribe_secret", "portal_url")


def default_database(service: str) -> str:
    """The database a service uses when ENTITLE_DATABASE_NAME names none."""
    return f"entitle_{service}"


class RuntimeSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", secrets_dir=None, validate_default=True
    )

    service: str = Field(default="", description="Set by each service; not configurable.")
    environment: Literal["development", "production"] = Field(
        default="development",
        description="`production` requires the settings every copy must share (unsubscribe"
        " secret, public and portal URLs) to be set explicitly.",
    )
    database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        description="PostgreSQL server; each service uses its own database on it.",
    )
    database_name: str = Field(
        default="", description="Database of this service; default `entitle_<service>`."
    )
    database_pool_size: int = Field(default=10, ge=2, le=200)
    migrate_on_start: bool = Field(
        default=True,
        description="Apply pending migrations at start; `false` where `entitle migrate` runs"
        " them as a release step (the service then refuses to start on an older schema).",
    )
    kafka_bootstrap: str = Field(default="127.0.0.1:9092", description="Kafka bootstrap servers.")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT",
        description="How clients reach Kafka: TLS (`SSL`), SASL (`SASL_PLAINTEXT`) or both"
        " (`SASL_SSL`, what Confluent Cloud, MSK with SASL/SCRAM and Aiven expect).",
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="PLAIN", description="SASL mechanism with SASL_* protocols."
    )
    kafka_sasl_username: str | None = Field(default=None, description="SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(default=None, description="SASL password.")
    kafka_ssl_cafile: Path | None = Field(
        default=None,
        description="PEM file of the CAs that signed the brokers' certificates (default:"
        " the system's trust store).",
    )
    kafka_ssl_certfile: Path | None = Field(
        default=None, description="PEM client certificate, for brokers that require mTLS."
    )
    kafka_ssl_keyfile: Path | None = Field(
        default=None, description="PEM private key of the client certificate."
    )
    kafka_ssl_key_password: SecretStr | None = Field(
        default=None, description="Password of an encrypted private key."
    )
    kafka_idempotence: bool = Field(
        default=True,
        description="Idempotent producer. Apache Kafka: on. The embedded Tansu broker: off.",
    )
    kafka_topic_prefix: str = Field(
        default="",
        description="Prefix of every topic name, e.g. `staging.` to share a cluster.",
    )
    kafka_session_timeout_ms: int = Field(
        default=10_000, ge=1000, description="Consumer group session timeout."
    )
    kafka_heartbeat_interval_ms: int = Field(default=3_000, ge=100)
    kafka_fetch_max_wait_ms: int = Field(
        default=500,
        ge=0,
        description="Longest wait of a fetch for new records. Lower adds polling (CPU) and"
        " cuts latency on brokers that do not answer a waiting fetch as soon as records come.",
    )
    kafka_create_topics: bool = Field(
        default=True, description="Create missing topics at start (off when topics are managed)."
    )
    kafka_partitions: int = Field(default=8, ge=1, description="Partitions of created topics.")
    kafka_replication: int = Field(default=1, ge=1, description="Replication of created topics.")
    http_host: str = "127.0.0.1"
    http_workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Processes serving this service; each is a full copy (HTTP, consumer in"
        " the group, outbox relay, jobs), like running more copies.",
    )
    http_port: int = Field(default=0, description="HTTP port; default per service (8100-8105).")
    http_max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body; larger ones get 413."
    )
    admin_api_key: SecretStr | None = Field(default=None, description="Key with every scope.")
    api_keys_file: Path | None = Field(
        default=None, description="JSON list of {key, scopes, account_id} for scoped API keys."
    )
    access_token_public_keys: dict[str, str] = Field(
        default={},
        description="JSON {kid: base64 Ed25519 public key}: the portal's keys for the"
        " short-lived account-bound access tokens it sends for the person signed in.",
    )
    catalog_path: Path | None = Field(
        default=None, description="Product catalog (TOML); default: the bundled demo catalog."
    )
    clock_offset_file: Path | None = Field(
        default=None,
        description="Testing only: a file holding seconds added to the wall clock.",
    )
    consumer_batch_max: int = Field(default=500, ge=1)
    consumer_commit_interval_ms: int = Field(
        default=1000,
        ge=0,
        description="Longest time between offset commits while records keep coming (they are"
        " committed at once when a fetch comes back empty). After a crash, what was applied"
        " since is delivered again and recognised by the inbox.",
    )
    consumer_linger_ms: int = Field(
        default=10,
        ge=0,
        description="How long a consumer waits, after a fetch smaller than the batch, for more"
        " records to apply in the same transaction: a little latency per hop for fewer,"
        " larger transactions at a steady rate.",
    )
    outbox_batch_max: int = Field(default=500, ge=1)
    outbox_max_attempts: int = Field(
        default=20,
        ge=1,
        description="Tries of an outbox row the broker refuses (too large, no such topic)"
        " before it is parked for `entitle outbox`; its key's later rows wait behind it.",
    )
    retry_backoff_initial: float = Field(default=0.2, gt=0, description="Seconds.")
    retry_backoff_max: float = Field(default=30.0, gt=0, description="Seconds.")
    unexpected_error_attempts: int = Field(
        default=5, ge=1, description="Tries of an unclassified handler error before dead letter."
    )
    traces_exporter: Literal["none", "otlp", "console"] = Field(
        default="none",
        description="OpenTelemetry span export; `otlp` sends to OTEL_EXPORTER_OTLP_ENDPOINT.",
    )
    log_level: str = "INFO"
    log_json: bool = Field(default=True, description="One JSON object per log line.")

    @field_validator("log_level")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()

    def model_post_init(self, context: Any) -> None:
        if self.service:
            if not self.database_name:
                self.database_name = default_database(self.service)
            if not self.http_port:
                self.http_port = DEFAULT_PORTS.get(self.service, 8000)

    @model_validator(mode="after")
    def _kafka_credentials(self) -> RuntimeSettings:
        if self.kafka_security_protocol.startswith("SASL_") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                f"ENTITLE_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs"
                " ENTITLE_KAFKA_SASL_USERNAME and ENTITLE_KAFKA_SASL_PASSWORD"
            )
        if (self.kafka_ssl_certfile is None) != (self.kafka_ssl_keyfile is None):
            raise ValueError("ENTITLE_KAFKA_SSL_CERTFILE and ENTITLE_KAFKA_SSL_KEYFILE go together")
        return self

    @model_validator(mode="after")
    def _shared_in_production(self) -> RuntimeSettings:
        if self.environment != "production":
            return self
        unset = [
            name
            for name in SHARED_ACROSS_COPIES
            if name in type(self).model_fields and name not in self.model_fields_set
        ]
        if unset:
            raise ValueError(
                "\n".join(
                    f"{variable(name)} must be set with ENTITLE_ENVIRONMENT=production: every"
                    f" copy of {self.service or 'the service'} must use the same value"
                    for name in unset
                )
            )
        return self

    @property
    def consumer_group(self) -> str:
        return self.service

    @property
    def body_limit(self) -> int:
        """The largest request body this service reads."""
        return self.http_max_body_bytes


S = TypeVar("S", bound=RuntimeSettings)


class SettingsError(Exception):
    """Settings that cannot start a service; each problem names its variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_settings(cls: type[S]) -> S:
    """The settings from the environment, and from files in `ENTITLE_SECRETS_DIR` (one file per
    setting, named like its variable in lower case, as Docker and Kubernetes mount secrets).
    Invalid values raise SettingsError naming each variable; values are not echoed since they
    may be secrets."""
    secrets_dir = os.environ.get(SECRETS_DIR_VARIABLE)
    if secrets_dir and not Path(secrets_dir).is_dir():
        raise SettingsError([f"{SECRETS_DIR_VARIABLE}: {secrets_dir} is not a directory"])
    try:
        return cls(_secrets_dir=secrets_dir)
    except ValidationError as exc:
        raise SettingsError(
            [
                problem
                for e in exc.errors()
                for problem in (
                    [f"{variable(str(e['loc'][0]))}: {e['msg']}"]
                    if e["loc"]
                    else e["msg"].removeprefix("Value error, ").splitlines()  # across settings
                )
            ]
        ) from None


def variable(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


def unknown_variables(
    classes: Iterable[type[RuntimeSettings]], environ: Mapping[str, str]
) -> list[str]:
    """`ENTITLE_` variables that are no service's setting, with the likely intended one: a
    misspelt variable would otherwise be silently ignored."""
    known = {variable(name) for cls in classes for name in cls.model_fields}
    known.add(SECRETS_DIR_VARIABLE)
    found = []
    for name in sorted(k for k in environ if k.startswith(ENV_PREFIX) and k not in known):
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        found.append(f"{name} is not a setting" + (f"; did you mean {close[0]}?" if close else ""))
    return found
