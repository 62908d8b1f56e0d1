"""Events of licenses and releases (topics `licensing.licenses`, `licensing.releases`)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from .common import AccountId, Email, LicenseKind, PaymentMode
from .envelope import EventData
from .topics import LICENSING_LICENSES, LICENSING_RELEASES


class LicenseRef(EventData):
    """Fields every license event carries so a consumer needs no lookup."""

    license_id: str
    license_key: str
    product: str
    account_id: AccountId


class LicenseIssued(LicenseRef):
    event_type: ClassVar[str] = "entitle.licensing.license.issued.v1"
    topic: ClassVar[str] = LICENSING_LICENSES

    kind: LicenseKind
    edition: str
    sku: str
    company: str
    contact_email: Email
    reseller_account_id: AccountId | None = None
    reseller_email: Email | None = Field(
        default=None, description="The reseller who bought it for the customer, if any."
    )
    pooled: bool = Field(default=False, description="In the reseller's pool, not yet assigned.")
    order_id: str
    line_id: str
    purchased_at: AwareDatetime
    major_version: int = Field(ge=0)
    expires_at: AwareDatetime | None = None
    auto_renew: bool = False
    max_activations: int | None = Field(description="Null means unlimited (site license).")
    payment_mode: PaymentMode
    maintenance_plan: str | None = Field(
        default=None, description="The maintenance plan sold with this license, if any."
    )
    coverage_expected: bool = Field(
        default=False, description="Maintenance will start coverage for this license."
    )
    base_license_id: str | None = Field(default=None, description="Set on an add-on license.")
    licenses_in_order: int = Field(default=1, ge=1, description="Licenses this order issued.")


class LicenseActivated(LicenseRef):
    event_type: ClassVar[str] = "entitle.licensing.license.activated.v1"
    topic: ClassVar[str] = LICENSING_LICENSES

    fingerprint: str
    platform: str
    hostname: str
    activated_at: AwareDatetime
    activations_used: int


class LicenseDeactivated(LicenseRef):
    event_type: ClassVar[str] = "entitle.licensing.license.deactivated.v1"
    topic: ClassVar[str] = LICENSING_LICENSES

    fingerprint: str | None = Field(
        default=None, description="The machine freed; null when the whole license was deactivated."
    )
    deactivated_at: AwareDatetime


class LicenseAssigned(LicenseRef):
    event_type: ClassVar[str] = "entitle.licensing.license.assigned.v1"
    topic: ClassVar[str] = LICENSING_LICENSES

    reseller_account_id: AccountId
    company: str
    contact_email: Email
    assigned_at: AwareDatetime


class LicenseTransferred(LicenseRef):
    event_type: ClassVar[str] = "entitle.licensing.license.transferred.v1"
    topic: ClassVar[str] = LICENSING_LICENSES

    from_account_id: AccountId
    company: str
    contact_email: Email
    order_id: str
    transferred_at: AwareDatetime


class _StatusChange(LicenseRef):
    at: AwareDatetime
    reason: str = ""


class LicenseSuspended(_StatusChange):
    event_type: ClassVar[str] = "entitle.licensing.license.suspended.v1"
    topic: ClassVar[str] = LICENSING_LICENSES


class LicenseReinstated(_StatusChange):
    event_type: ClassVar[str] = "entitle.licensing.license.reinstated.v1"
    topic: ClassVar[str] = LICENSING_LICENSES


class LicenseRevoked(_StatusChange):
    event_type: ClassVar[str] = "entitle.licensing.license.revoked.v1"
    topic: ClassVar[str] = LICENSING_LICENSES

    order_id: str | None = None


class LicenseRenewed(LicenseRef):
    event_type: ClassVar[str] = "entitle.licensing.license.renewed.v1"
    topic: ClassVar[str] = LICENSING_LICENSES

    expires_at: AwareDatetime
    renewed_at: AwareDatetime


class LicenseExpired(LicenseRef):
    event_type: ClassVar[str] = "entitle.licensing.license.expired.v1"
    topic: ClassVar[str] = LICENSING_LICENSES

    expired_at: AwareDatetime


class OrderLineRejected(EventData):
    event_type: ClassVar[str] = "entitle.licensing.order-line.rejected.v1"
    topic: ClassVar[str] = LICENSING_LICENSES

    order_id: str
    line_id: str
    sku: str
    account_id: AccountId
    contact_email: Email
    code: str = Field(description="Stable machine-readable reason, e.g. PAYMENT_MODE_LOCKED.")
    reason: str = Field(description="The reason in words a customer can read.")


class ReleasePublished(EventData):
    event_type: ClassVar[str] = "entitle.licensing.release.published.v1"
    topic: ClassVar[str] = LICENSING_RELEASES

    product: str
    version: str
    major: int = Field(ge=0)
    minor: int = Field(ge=0)
    patch: int = Field(ge=0)
    released_at: AwareDatetime
    release_kind: Literal["maintenance", "update"] = Field(
        description="`update` starts a new major version; `maintenance` stays within one."
    )
