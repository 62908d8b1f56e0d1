from __future__ import annotations

from pydantic import Field, SecretStr

from services.runtime.settings import RuntimeSettings


class NotificationSettings(RuntimeSettings):
    service: str = "notification"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str = Field(default="Entitle <licenses@entitle.example>")
    portal_url: str = Field(
        default="https://support.example.com",
        description="The customer portal: license links and the unsubscribe page point there.",
    )
    sign_in_seal_key: SecretStr | None = Field(
        default=None,
        description="Base64 of 32 bytes shared with the portal: opens the sealed sign-in links.",
    )
    unsubscribe_secret: SecretStr | None = Field(
        default=None, description="Signs one-click unsubscribe links."
    )
    message_id_domain: str = Field(
        default="entitle.example", description="Right side of Message-IDs."
    )
    smtp_connections: int = Field(default=16, ge=1, le=64, description="Parallel SMTP sessions.")
    license_digest_wait_seconds: float = Field(
        default=600,
        gt=0,
        description="Longest wait for the rest of an order's licenses before its email goes.",
    )
    smtp_timeout_seconds: float = Field(default=10, gt=0, description="Per SMTP command.")
    send_batch_max: int = Field(default=100, ge=1, description="Emails claimed per sender run.")
    send_lease_seconds: float = Field(
        default=120,
        ge=1,
        description="How long a sender holds the emails it took; those of a sender that died"
        " are sent by another once it runs out. Keep it well above the SMTP timeout.",
    )
    send_max_attempts: int = Field(default=12, ge=1, description="Then the email is failed.")
    send_backoff_initial: float = Field(default=2.0, gt=0, description="Seconds.")
    send_backoff_max: float = Field(default=600.0, gt=0, description="Seconds.")
