"""What the pages ask of the other services, and how a call fails. The HTTP clients in
`adapters/` provide these; the pages hold them through these protocols only.

The answers are the services' JSON documents, shown as they come (each service's own API
documents their fields)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .answers import (
    Coverage,
    Eligibility,
    Entitlement,
    License,
    LicenseFacts,
    Listing,
    MaintenanceCode,
    Queue,
    Release,
    RenewalQuote,
    SupportOptions,
    Ticket,
    TicketSummary,
)


class ServiceError(Exception):
    """A service answered with an error: its status, stable code and sentence."""

    def __init__(self, status: int, code: str, detail: str, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status, self.code, self.detail, self.body = status, code, detail, body


class ServiceUnavailable(Exception):
    """A service could not be reached."""


OPERATED = ("licensing", "maintenance", "ticketing", "notification")
"""The services whose dead letters and consumer lag the admin pages show over HTTP (the
portal's own come from its database; ingress consumes no topic)."""


@dataclass(frozen=True, slots=True)
class NewOwner:
    """Who a reseller transfers licenses to."""

    account_id: str
    company: str
    email: str


@dataclass(frozen=True, slots=True)
class NewTicket:
    """A support request as the customer submits it."""

    account_id: str
    email: str
    product: str
    version: str
    kind: str
    subject: str
    body: str
    license_key: str | None


class AccountApi(Protocol):
    """The calls the portal's pages make, for one account (or with no account)."""

    @property
    def account_id(self) -> str | None: ...

    # licensing
    async def all_licenses(self, **filters: str | None) -> list[License]:
        """Every license the account sees with these filters (read page by page)."""
        ...

    async def license(self, key: str) -> License: ...
    async def license_file(self, key: str) -> dict[str, Any]:
        """The signed license document, as licensing sends it (the download is that)."""
        ...

    async def license_facts(self, key: str) -> LicenseFacts:
        """What the license's signed file states (the key is the credential)."""
        ...

    async def deactivate_machine(self, key: str, fingerprint: str) -> None: ...
    async def releases(self, product: str) -> list[Release]: ...
    async def transfer_license(self, key: str, owner: NewOwner) -> None: ...
    async def transfer_order(self, order_id: str, owner: NewOwner) -> None: ...

    # maintenance
    async def coverage(self, key: str) -> Coverage: ...
    async def eligibility(self, key: str, version: str) -> Eligibility: ...
    async def renewal_quote(self, key: str) -> RenewalQuote: ...
    async def unused_maintenance_codes(self) -> list[MaintenanceCode]: ...
    async def associate(self, code: str, key: str) -> None: ...

    # ticketing
    async def support_options(self, product: str, version: str, kind: str) -> SupportOptions: ...
    async def tickets(
        self, limit: int, offset: int, status: str | None
    ) -> Listing[TicketSummary]: ...
    async def ticket(self, number: str) -> Ticket: ...
    async def open_ticket(self, ticket: NewTicket, request_id: str) -> str:
        """The new ticket's number (the same for the same `request_id`)."""
        ...

    async def ticket_command(
        self, number: str, command: str, body: dict[str, Any] | None = None
    ) -> None: ...

    # notification
    async def unsubscribe(self, email: str, token: str) -> None: ...


class StaffApi(Protocol):
    """The calls the support desk makes for one signed-in agent or admin."""

    async def queue(self, **filters: str | int | None) -> Queue: ...
    async def ticket(self, number: str) -> Ticket: ...
    async def entitlement(self, number: str) -> Entitlement: ...
    async def ticket_action(
        self, number: str, action: str, body: dict[str, Any] | None = None
    ) -> None: ...
    async def license(self, key: str) -> License: ...
    async def licenses(self, by: str, value: str) -> list[License]:
        """The first licenses with this `order` or `email` (`by`)."""
        ...

    async def change_license(self, key: str, command: str, reason: str) -> None: ...
    async def publish_release(self, product: str, version: str, released_at: str) -> None: ...
    async def releases(self, product: str) -> list[Release]: ...
    async def dead_letters(self, service: str) -> dict[str, Any]: ...
    async def replay(self, service: str, ids: list[int] | None) -> list[int]:
        """The ids of the dead letters replayed."""
        ...

    async def consumer_lag(self, service: str) -> dict[str, Any]: ...


class Services(Protocol):
    """The other services, for a customer's account, a desk user, or anyone (the credential
    is then in the request itself: a license key, a signed link). Tokens are minted at
    `now`."""

    def for_account(
        self, subject: str, account_id: str, scopes: frozenset[str], now: datetime
    ) -> AccountApi: ...
    def for_staff(self, subject: str, role: str, now: datetime) -> StaffApi: ...
    def anonymous(self) -> AccountApi: ...
