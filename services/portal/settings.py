from __future__ import annotations

from pydantic import Field, SecretStr

from services.runtime.settings import RuntimeSettings


class PortalSettings(RuntimeSettings):
    service: str = "portal"
    portal_url: str = Field(
        default="http://127.0.0.1:8105",
        description="Where people reach the portal; every link in every email starts here.",
    )
    licensing_url: str = Field(default="http://127.0.0.1:8101", description="Licensing's API.")
    maintenance_url: str = Field(default="http://127.0.0.1:8102", description="Maintenance's API.")
    ticketing_url: str = Field(default="http://127.0.0.1:8103", description="Ticketing's API.")
    notification_url: str = Field(
        default="http://127.0.0.1:8104", description="Notification's API."
    )
    shop_url: str = Field(
        default="https://shop.example.com/cart",
        description="The vendor's shop; *Buy* and *Renew* links add `?sku=&quantity=`.",
    )
    access_token_signing_key: SecretStr | None = Field(
        default=None,
        description="Ed25519 private key (base64 of 32 bytes) signing the access tokens the"
        " portal sends to the services; they verify with ENTITLE_ACCESS_TOKEN_PUBLIC_KEYS.",
    )
    access_token_key_id: str = Field(default="p1", description="Id of the signing key.")
    access_token_minutes: int = Field(default=5, ge=1, le=60, description="Token lifetime.")
    sign_in_seal_key: SecretStr | None = Field(
        default=None,
        description="Base64 of 32 bytes shared with notification: seals sign-in links.",
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description="Signs CSRF tokens; random per start when unset (open forms then fail"
        " after a restart).",
    )
    session_hours: int = Field(default=12, ge=1, description="A session ends after this long.")
    session_idle_minutes: int = Field(
        default=60, ge=5, description="A session unused this long ends."
    )
    sign_in_link_minutes: int = Field(default=15, ge=1, le=60, description="Link validity.")
    sign_in_per_address: int = Field(
        default=5, ge=1, description="Sign-in links per address per 15 minutes."
    )
    sign_in_per_client: int = Field(
        default=20, ge=1, description="Sign-in requests per client address per 15 minutes."
    )
    key_status_per_client: int = Field(
        default=30, ge=1, description="Key-status look-ups per client address per 15 minutes."
    )
    default_timezone: str = Field(
        default="Europe/Berlin",
        description="Times are shown in this zone until the viewer's browser names its own.",
    )
    secure_cookies: bool | None = Field(
        default=None,
        description="Secure cookies; default: on unless ENTITLE_PORTAL_URL is on localhost.",
    )
